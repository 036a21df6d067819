"""The ground every package stands on: errors, the CLI boundary, file I/O, the artifact layout, params, schema.

Also frames, time parts, Markdown, metric names and git/DVC revisions. It imports nothing of ours from above: not the
model, not the evaluation, no capability.
"""
