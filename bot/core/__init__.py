"""The pure core: parse, lint, fix, plan a review, render the index. No I/O, no GitHub."""
