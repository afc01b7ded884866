"""When a responder responds: the lag of a steroid-sparing agent's effect.

Treatment efficacy at t days into a line rises from the glucocorticoid's share g
to 1 as the agent builds to full effect over F days (seed 001: 3-6 months):
    efficacy(t) = g + (1 - g) * min(1, t / F).
A responder's biological response time has density proportional to efficacy,
within the line's failure assessment window; responses are then recognised at
the next scheduled assessment. With no agent (F = 0) efficacy is flat.
"""

from __future__ import annotations

import math


def cumulative_efficacy(t_days: float, g: float, full_effect_days: float) -> float:
    if full_effect_days <= 0 or g >= 1:
        return t_days
    f = full_effect_days
    if t_days <= f:
        return g * t_days + (1 - g) * t_days * t_days / (2 * f)
    return f * (1 + g) / 2 + (t_days - f)


def response_time_days(u: float, g: float, full_effect_days: float, window_days: float) -> float:
    """Invert the cumulative efficacy at quantile `u` of the window's total."""
    y = u * cumulative_efficacy(window_days, g, full_effect_days)
    if full_effect_days <= 0 or g >= 1:
        return y
    f = full_effect_days
    at_full = f * (1 + g) / 2
    if y > at_full:
        return f + (y - at_full)
    a = (1 - g) / (2 * f)
    return (-g + math.sqrt(g * g + 4 * a * y)) / (2 * a)


def recognised_at_assessment(t_days: float, interval_days: float, window_days: float) -> float:
    """The first assessment at or after `t_days` (every `interval_days`), at the latest the window's end."""
    visits = max(1, math.ceil(t_days / interval_days - 1e-9))
    return min(visits * interval_days, window_days)
