"""Analyzers turn a Context into findings; `rank` turns findings into hypotheses.

Each analyzer is independent and only reads the Context: metrics (anomaly and
onset), logs (new or spiking templates), changes (correlation with the onset),
dependency (dead dependencies), traces (span errors and call edges), events
(Kubernetes events by meaning, and rollouts the cluster recorded).
"""
