"""A stand-in for $EDITOR in tests.

Each run takes the next entry of the queue folder named by FAKE_EDITOR_QUEUE:
``NNN.md`` replaces the edited file's text with the entry's text, ``NNN.fail``
exits with status 1, ``NNN.same`` leaves the file as it is. What the editor
was shown is saved as ``seen-NNN.md`` for the test to inspect.
"""

import os
import shutil
import sys
from pathlib import Path

queue = Path(os.environ["FAKE_EDITOR_QUEUE"])
target = Path(sys.argv[-1])
entries = sorted(p for p in queue.iterdir() if p.suffix in (".md", ".fail", ".same") and not p.name.startswith("seen-"))
if not entries:
    sys.exit("fake editor: queue is empty")
entry = entries[0]
shutil.copy(target, queue / f"seen-{entry.stem}.md")
if entry.suffix == ".md":
    target.write_text(entry.read_text())
entry.unlink()
sys.exit(1 if entry.suffix == ".fail" else 0)
