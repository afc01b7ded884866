"""One lock for matplotlib: Streamlit serves each browser session in a thread of one process, and pyplot's
figure registry is not thread-safe, so the pages draw (reports, timelines, comparisons) one at a time."""

import threading

FIGURE_LOCK = threading.RLock()
