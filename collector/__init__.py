"""mdc collector: jobs, queue, sources and the worker loop. Never imports Flask or webapp."""

__version__ = "0.1.0"
