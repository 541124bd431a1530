"""`logwarden up --demo` runs event time 24x: the AI timeout, counted in event time, is
scaled so a model keeps the wall-clock time the configuration gives it."""

from __future__ import annotations

from streams.config import load_config
from streams.demo import SPEED, demo_config


def test_the_demo_gives_a_model_the_default_thirty_seconds_of_wall_time():
    cfg = demo_config(load_config(environ={}))
    # 30 s (ops/CONFIG.md's default) of wall time at 24x is 720 s of the demo's event time.
    assert SPEED == 24.0 and cfg.incidents.ai_timeout_s == 720.0
    assert load_config(environ={}).incidents.ai_timeout_s == 30.0  # the worker's own is unchanged


def test_a_timeout_the_user_set_is_taken_as_set():
    cfg = load_config(environ={"LOGWARDEN_INCIDENTS__AI_TIMEOUT_S": "45"})
    assert demo_config(cfg).incidents.ai_timeout_s == 45.0
