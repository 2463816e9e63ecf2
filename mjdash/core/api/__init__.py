"""The kie.ai API: the HTTP client, what each answer means (typed outcomes), the key."""

import sys

# httpx's __init__ imports its command-line client (httpx._main), which imports Rich, click and pygments when they
# are installed — and Rich is, Textual brings it: about 40 ms of every `mjdash status`. mjdash never runs that
# client, so its import fails and httpx defines its stub instead (encode/httpx#3547 moves the import to __main__).
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
