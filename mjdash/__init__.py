"""mjdash: a terminal dashboard for Midjourney tasks on the kie.ai API."""

__version__ = "0.1.0"
