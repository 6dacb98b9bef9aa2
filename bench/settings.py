"""Settings for ``bench/api.py``'s server: the project's, plus the floor's URL.

Everything else — middleware, database, cache, DRF — is the project's own, so
the floor pays exactly the request path every API call pays before its view.
"""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
# One key drives the whole load: budgets far above what a run can send, so no
# request is refused (the limiter still counts every request, as in production).
API_RATE_LIMIT_READ = 1_000_000_000
API_RATE_LIMIT_WRITE = 1_000_000_000
