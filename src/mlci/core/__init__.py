"""The shared core: params, schema, I/O, the artifact layout, errors, models, metrics, the gate, git/DVC revisions.

Everything else builds on it; nothing here imports a capability (stages, review, deploy, serve, monitor).
"""
