"""Settings for bench/project_read.py: the real ones, with one URLconf more (bench/read_floor_urls.py)."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.read_floor_urls"
