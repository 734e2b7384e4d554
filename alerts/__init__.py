"""Alerts: rules as data, evaluated by the engine's scheduler, notified through Apprise.

Modules: ``rules`` (the TOML rules file and its errors), ``conditions`` (what each rule
kind finds in the read models), ``tables`` and ``store`` (alert state: firing, resolved,
notified, acknowledged or silenced, and each notification target's last result),
``notify`` (targets and messages), ``evaluator`` (one evaluation: find, record, notify;
the leader only), ``gauges`` (business gauges on the engine's ``/metrics``),
``commands`` (acknowledge and silence, audited) and ``cli``.
"""
