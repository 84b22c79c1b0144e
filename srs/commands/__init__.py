"""The commands of `srs`, grouped by what they are about; ``srs.cli`` loads each group only when one of its commands runs."""
