"""Each lint rule with an example that passes and one that fails."""

from __future__ import annotations

from srs.lint import Finding, lint_story, speaking_seconds
from srs.story_format import StorySpec

GOOD = {
    "Situation": "Our ranking service missed its latency budget.",
    "Task": "I had to bring p99 under 120 ms.",
    "Action": (
        "I profiled the service and found that feature fetching took most of the time. "
        "I batched the feature calls, cached two heavy features and distilled the model into a smaller one."
    ),
    "Result": "p99 fell from 180 ms to 105 ms.",
}


def rules(**sections: str) -> list[str]:
    spec = StorySpec(title="t", sections={**GOOD, **sections})
    return [f.rule for f in lint_story(spec)]


def finding(rule: str, **sections: str) -> Finding:
    spec = StorySpec(title="t", sections={**GOOD, **sections})
    return next(f for f in lint_story(spec) if f.rule == rule)


def test_clean_story_has_no_findings() -> None:
    """A short, first-person story with a measured result passes every rule."""
    assert rules() == []


def test_ownership() -> None:
    """'we' outnumbering 'I' in the Action is flagged; first-person actions pass."""
    f = finding("ownership", Action="We profiled the service and we batched our calls; I helped.")
    assert (f.place, f.message) == ("Action", "'I' 1 time(s) against 'we' 3: say what you did yourself, in the first person")
    assert "ownership" in rules(Action="The team profiled the service.")  # no 'I' at all
    assert "ownership" not in rules(Action="I profiled it; we then shipped what I built.")


def test_context_share() -> None:
    """A setup longer than a third of the story is flagged."""
    long_setup = " ".join(["The platform had grown over several years."] * 6)
    f = finding("context-share", Situation=long_setup)
    assert f.place == "Situation+Task" and f.message.startswith("the setup is ")
    assert "context-share" not in rules()


def test_context_share_carl() -> None:
    """For CARL the Context section is the setup."""
    spec = StorySpec(
        title="t",
        sections={"Context": " ".join(["Background detail."] * 40), "Action": "I fixed it.", "Result": "Errors fell 50%.", "Learning": "x"},
    )
    assert [f.place for f in lint_story(spec) if f.rule == "context-share"] == ["Context"]


def test_length() -> None:
    """Over two minutes at the given speaking rate is flagged."""
    long_action = "I " + " ".join(["changed one more thing carefully"] * 60) + "."
    f = finding("length", Action=long_action)
    assert f.place == "story" and "cut to 300 words (about two minutes)" in f.message
    spec = StorySpec(title="t", sections={**GOOD, "Action": long_action})
    assert speaking_seconds(spec, 150) > 120
    assert [x.rule for x in lint_story(spec, wpm=300)].count("length") == 0  # a faster speaker fits
    assert "length" not in rules()


def test_result_evidence() -> None:
    """A Result with no number, unit or comparison is flagged."""
    f = finding("result-evidence", Result="Everyone was happy with it.")
    assert f.place == "Result"
    assert "result-evidence" not in rules(Result="Latency was halved.")
    assert "result-evidence" not in rules(Result="Training became faster than the old pipeline.")


def test_carl_learning() -> None:
    """A CARL story without Learning is flagged; with one it passes."""
    base = {"Context": "Nightly jobs failed.", "Action": "I fixed the loader.", "Result": "Failures fell to 0."}
    assert [f.rule for f in lint_story(StorySpec(title="t", sections=base))] == ["carl-learning"]
    assert lint_story(StorySpec(title="t", sections={**base, "Learning": "Own the flaky things."})) == []
    todo = lint_story(StorySpec(title="t", sections={**base, "Learning": "TODO"}))
    assert [(f.rule, f.place) for f in todo] == [("draft", "Learning")]  # one finding: the section is there, unwritten


def test_hedging_and_filler() -> None:
    """Hedges and fillers are named with their counts, per section."""
    f = finding("hedging", Action="I think I maybe fixed it, maybe.")
    assert (f.place, f.message) == ("Action", "hedging 'maybe' ×2, 'i think': state what happened plainly")
    g = finding("filler", Result="It was basically, like, 20% faster.")
    assert g.message == "filler 'basically', 'like': cut these words"
    assert "filler" not in rules(Result="It was 20% faster, like the spec asked.")
    assert "hedging" not in rules() and "filler" not in rules()


def test_draft_sections() -> None:
    """Sections still marked TODO are reported as a draft."""
    f = finding("draft", Action="TODO", Result="TODO")
    assert (f.place, f.message) == ("Action, Result", "still TODO: write these sections before rehearsing")


def test_the_readme_example_story_passes_its_own_lint() -> None:
    """The story the README shows as an example parses and has no lint findings."""
    import re
    from pathlib import Path

    from srs.story_format import parse_story

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    match = re.search(r"A story is Markdown with front matter:\n\n```markdown\n(.*?)```", readme, re.DOTALL)
    assert match is not None
    spec = parse_story(match.group(1))
    assert spec.title == "Cut ranking latency by 40%"
    assert lint_story(spec, 150) == []


def test_a_long_finding_wraps_under_its_message_not_at_the_margin() -> None:
    """At 60 columns a finding's message wraps with its continuation lines indented under the message's first word."""
    from rich.console import Console

    from srs.terminal import findings_text

    console = Console(width=60, record=True)
    console.print(findings_text(lint_story(StorySpec(title="t", sections={
        "Situation": "We had a problem.", "Task": "We had to fix it.", "Action": "We fixed it together as a team.",
        "Result": "It got better."}))))
    lines = console.export_text().rstrip().splitlines()
    assert lines[0].startswith("Lint: ")
    start = lines[1].index("'I' 0 time(s)")  # the message's column on the finding's first line
    wrapped = [line for line in lines[2:] if not line.lstrip().startswith(("ownership", "result-evidence", "context-share"))]
    assert wrapped and all(len(line) - len(line.lstrip()) >= start - 1 for line in wrapped if line.strip()), lines
