"""Third reference of bench/load.py: bench/load_baseline.py's minimal project, served as d2d serves HTTP.

    uvicorn load_baseline_d2d_handler:application --app-dir bench   (from the repository root)

The same one-view project with no middleware, but through d2d's SyncChainASGIHandler
(kernel/asgi_http.py) instead of Django's ASGIHandler. The target's baseline stays Django as
it comes (bench/load_baseline.py); this row shows how much of d2d's figure is its handler, so the
ratio of d2d's endpoints to a minimal view under the same handler can be read off the same run.
"""

import load_baseline  # noqa: F401  (configures and sets up the minimal project; bench/ is the app dir)

from kernel.asgi_http import SyncChainASGIHandler

application = SyncChainASGIHandler(threads=32)
