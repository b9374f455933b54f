#!/usr/bin/env python3
"""Synthetic fault-injection RCA benchmark on a ~40-service Java/Spring Boot rail-booking mesh.

Writes 48 incident bundles (incident bundle v1, see shared/DESIGN.md) plus MANIFEST.yaml.
Usage: python3 gen_benchmark.py --out /tmp/L --seed 1
Standard library + PyYAML only. Requests are simulated per time step (Monte Carlo through
call trees); metrics, logs and traces are all derived from the same simulated requests.
"""

import argparse
import hashlib
import json
import math
import os
import random
import shutil
from datetime import UTC, datetime

import yaml

NS = "railway"
GW = "rw-web-gateway"


# --------------------------------------------------------------------------- call graph
class N:
    __slots__ = ("svc", "op", "self_ms", "kids", "write", "db")

    def __init__(self, svc, op, self_ms, kids=(), write=False, db=False):
        self.svc, self.op, self.self_ms, self.kids, self.write, self.db = (
            svc,
            op,
            self_ms,
            list(kids),
            write,
            db,
        )


def D(svc, op="find", ms=2.0, write=False):
    return N(svc, op, ms, (), write, True)


def auth():
    return N("rw-auth", "POST /api/v1/auth/verify-token", 4, [D("rw-auth-mongo", "find", 1.5)])


def stop(op="GET /api/v1/stops/{id}"):
    return N("rw-stop", op, 5, [D("rw-stop-mongo", "find", 2)])


def basic_data():
    return N(
        "rw-basic-data",
        "POST /api/v1/basic/travel",
        8,
        [
            stop("POST /api/v1/stops/id-list"),
            N("rw-train-type", "GET /api/v1/trains/{type}", 4, [D("rw-train-mongo")]),
            N("rw-route", "GET /api/v1/routes/{id}", 5, [D("rw-route-mongo")]),
            N("rw-fare", "GET /api/v1/fares/{route}/{train}", 4, [D("rw-fare-mongo")]),
        ],
    )


def ticket_info():
    return N("rw-ticket-info", "POST /api/v1/ticketinfo/query", 4, [basic_data()])


def booking(op="GET /api/v1/bookings/tickets", w=False, alt=False):
    s = "rw-booking-alt" if alt else "rw-booking"
    return N(s, op, 7, [D(s + "-mongo", "insert" if w else "find", 3, w), stop()], write=w)


def seat_alloc(alt=False):
    return N(
        "rw-seat-alloc",
        "POST /api/v1/seats/left",
        9,
        [
            booking("POST /api/v1/bookings/sold", alt=alt),
            N("rw-config", "GET /api/v1/configs/{name}", 3, [D("rw-config-mysql", "select", 1.5)]),
        ],
    )


def trip(alt=False, op="POST /api/v1/trips/left"):
    s = "rw-trip-express" if alt else "rw-trip"
    return N(
        s,
        op,
        10,
        [
            D(s + "-mongo"),
            ticket_info(),
            seat_alloc(alt),
            N("rw-train-type", "GET /api/v1/trains/{type}", 3, [D("rw-train-mongo")]),
        ],
    )


def reserve(alt=False):
    s = "rw-reserve-alt" if alt else "rw-reserve"
    return N(
        s,
        "POST /api/v1/reserve",
        18,
        [
            auth(),
            N(
                "rw-fraud-check",
                "GET /api/v1/security/check/{account}",
                5,
                [
                    booking("GET /api/v1/bookings/security", alt=alt),
                    N(
                        "rw-config",
                        "GET /api/v1/configs/{name}",
                        3,
                        [D("rw-config-mysql", "select", 1.5)],
                    ),
                ],
            ),
            N("rw-passenger", "GET /api/v1/passengers/{id}", 4, [D("rw-passenger-mongo")]),
            trip(alt, "GET /api/v1/trips/{id}/detail"),
            seat_alloc(alt),
            booking("POST /api/v1/bookings", w=True, alt=alt),
            N(
                "rw-insurance",
                "POST /api/v1/insurance",
                5,
                [D("rw-insurance-mongo", "insert", 2, True)],
                write=True,
            ),
            N(
                "rw-meal",
                "POST /api/v1/meals/order",
                6,
                [
                    D("rw-meal-mongo", "insert", 2, True),
                    N(
                        "rw-delivery",
                        "POST /api/v1/delivery",
                        4,
                        [D("rw-delivery-mongo", "insert", 2, True)],
                        write=True,
                    ),
                ],
                write=True,
            ),
            N(
                "rw-parcel",
                "POST /api/v1/parcels",
                6,
                [
                    N("rw-parcel-fare", "POST /api/v1/parcelfare/calc", 3, [D("rw-parcel-mongo")]),
                    D("rw-parcel-mongo", "insert", 2, True),
                ],
                write=True,
            ),
            N("rw-notify", "POST /api/v1/notify/order-created", 5, [], write=True),
        ],
    )


def flows():
    g = lambda op, ms, kids: N(GW, op, ms, kids)
    return [
        (6.0, g("POST /api/v1/trips/left", 3, [trip(False)])),
        (3.0, g("POST /api/v1/trips-express/left", 3, [trip(True)])),
        (
            2.0,
            g(
                "POST /api/v1/users/login",
                3,
                [
                    N(
                        "rw-auth",
                        "POST /api/v1/users/login",
                        12,
                        [
                            N("rw-captcha", "GET /api/v1/captcha/verify", 3),
                            D("rw-auth-mongo", "find", 2),
                        ],
                    )
                ],
            ),
        ),
        (1.2, g("POST /api/v1/reserve", 3, [reserve(False)])),
        (0.6, g("POST /api/v1/reserve-alt", 3, [reserve(True)])),
        (2.5, g("GET /api/v1/bookings", 3, [auth(), booking("POST /api/v1/bookings/refresh")])),
        (
            1.0,
            g(
                "GET /api/v1/bookings-alt",
                3,
                [auth(), booking("POST /api/v1/bookings/refresh", alt=True)],
            ),
        ),
        (
            1.0,
            g(
                "POST /api/v1/wallet/pay",
                3,
                [
                    N(
                        "rw-wallet",
                        "POST /api/v1/wallet/pay",
                        8,
                        [
                            D("rw-wallet-mysql", "update", 2, True),
                            booking("GET /api/v1/bookings/{id}"),
                            N(
                                "rw-payment",
                                "POST /api/v1/payment/pay",
                                6,
                                [D("rw-payment-mysql", "insert", 2, True)],
                                write=True,
                            ),
                            booking("GET /api/v1/bookings/{id}/status", w=True),
                        ],
                        write=True,
                    )
                ],
            ),
        ),
        (
            1.5,
            g(
                "POST /api/v1/travelplan/cheapest",
                3,
                [
                    N(
                        "rw-trip-planner",
                        "POST /api/v1/travelplan/cheapest",
                        6,
                        [
                            N(
                                "rw-route-planner",
                                "POST /api/v1/routeplan/cheapest",
                                8,
                                [
                                    trip(False, "POST /api/v1/trips/routes"),
                                    N(
                                        "rw-route",
                                        "POST /api/v1/routes/by-ids",
                                        4,
                                        [D("rw-route-mongo")],
                                    ),
                                ],
                            ),
                            seat_alloc(False),
                            stop("GET /api/v1/stops/name/{id}"),
                        ],
                    )
                ],
            ),
        ),
        (
            0.5,
            g(
                "POST /api/v1/refund",
                3,
                [
                    N(
                        "rw-refund",
                        "POST /api/v1/refund/{order}",
                        8,
                        [
                            booking("GET /api/v1/bookings/{id}"),
                            N(
                                "rw-wallet",
                                "POST /api/v1/wallet/drawback",
                                6,
                                [D("rw-wallet-mysql", "update", 2, True)],
                                write=True,
                            ),
                            booking("PUT /api/v1/bookings/status", w=True),
                            N("rw-notify", "POST /api/v1/notify/refund", 5, [], write=True),
                        ],
                    )
                ],
            ),
        ),
        (
            0.4,
            g(
                "POST /api/v1/rebook",
                3,
                [
                    N(
                        "rw-rebooking",
                        "POST /api/v1/rebook",
                        10,
                        [
                            booking("GET /api/v1/bookings/{id}"),
                            trip(False, "GET /api/v1/trips/{id}/detail"),
                            N(
                                "rw-wallet",
                                "POST /api/v1/wallet/difference",
                                6,
                                [D("rw-wallet-mysql", "update", 2, True)],
                                write=True,
                            ),
                        ],
                    )
                ],
            ),
        ),
        (
            0.8,
            g(
                "GET /api/v1/meals",
                3,
                [
                    N(
                        "rw-meal",
                        "GET /api/v1/meals/{date}/{trip}",
                        5,
                        [
                            N(
                                "rw-meal-catalog",
                                "GET /api/v1/mealcatalog/stations",
                                5,
                                [D("rw-meal-mongo")],
                            ),
                            N(
                                "rw-trip",
                                "GET /api/v1/trips/{id}/route",
                                4,
                                [
                                    D("rw-trip-mongo"),
                                    N(
                                        "rw-route",
                                        "GET /api/v1/routes/{id}",
                                        4,
                                        [D("rw-route-mongo")],
                                    ),
                                ],
                            ),
                        ],
                    )
                ],
            ),
        ),
        (
            0.7,
            g(
                "POST /api/v1/checkin",
                3,
                [
                    N(
                        "rw-checkin",
                        "GET /api/v1/checkin/{order}",
                        5,
                        [
                            booking("GET /api/v1/bookings/{id}"),
                            booking("PUT /api/v1/bookings/status", w=True),
                        ],
                    )
                ],
            ),
        ),
        (
            0.9,
            g(
                "GET /api/v1/parcels",
                3,
                [N("rw-parcel", "GET /api/v1/parcels/account/{id}", 5, [D("rw-parcel-mongo")])],
            ),
        ),
        (1.0, g("GET /api/v1/news", 2, [N("rw-news", "GET /api/v1/news", 3)])),
        (
            0.3,
            g(
                "GET /api/v1/vouchers",
                3,
                [
                    N(
                        "rw-voucher",
                        "POST /api/v1/vouchers",
                        6,
                        [D("rw-voucher-mysql", "select", 2), booking("GET /api/v1/bookings/{id}")],
                    )
                ],
            ),
        ),
        (
            0.6,
            g(
                "GET /api/v1/account",
                3,
                [N("rw-account", "GET /api/v1/accounts/{id}", 5, [D("rw-account-mongo"), auth()])],
            ),
        ),
        (
            0.5,
            g(
                "GET /api/v1/passengers",
                3,
                [
                    auth(),
                    N(
                        "rw-passenger",
                        "GET /api/v1/passengers/account/{id}",
                        5,
                        [D("rw-passenger-mongo")],
                    ),
                ],
            ),
        ),
        (
            0.05,
            g(
                "GET /api/v1/admin/bookings",
                3,
                [
                    N(
                        "rw-admin-booking",
                        "GET /api/v1/admin/bookings",
                        6,
                        [
                            booking("GET /api/v1/bookings"),
                            booking("GET /api/v1/bookings", alt=True),
                        ],
                    )
                ],
            ),
        ),
        (
            0.03,
            g(
                "GET /api/v1/admin/basic",
                3,
                [
                    N(
                        "rw-admin-basic",
                        "GET /api/v1/admin/basic/stops",
                        5,
                        [
                            stop("GET /api/v1/stops"),
                            N("rw-fare", "GET /api/v1/fares", 4, [D("rw-fare-mongo")]),
                        ],
                    )
                ],
            ),
        ),
        (
            0.02,
            g(
                "GET /api/v1/admin/routes",
                3,
                [
                    N(
                        "rw-admin-route",
                        "GET /api/v1/admin/routes",
                        5,
                        [N("rw-route", "GET /api/v1/routes", 6, [D("rw-route-mongo")])],
                    )
                ],
            ),
        ),
        (
            0.02,
            g(
                "GET /api/v1/admin/trips",
                3,
                [
                    N(
                        "rw-admin-trip",
                        "GET /api/v1/admin/trips",
                        5,
                        [trip(False, "GET /api/v1/trips")],
                    )
                ],
            ),
        ),
    ]


# services that exist but receive no traffic in the window (idle) - still have pods
IDLE = ["rw-admin-account", "rw-execute"]
MICROMETER = {
    "rw-booking",
    "rw-booking-alt",
    "rw-trip",
    "rw-trip-express",
    "rw-reserve",
    "rw-auth",
    "rw-seat-alloc",
    "rw-wallet",
    "rw-payment",
    "rw-basic-data",
    "rw-route",
    "rw-meal",
    "rw-parcel",
    "rw-config",
    GW,
    "rw-refund",
    "rw-fraud-check",
    "rw-notify",
}
MYSQL_SVCS = {"rw-wallet", "rw-payment", "rw-config", "rw-voucher"}
REPLICAS = {GW: 2, "rw-booking": 2, "rw-trip": 2, "rw-auth": 2, "rw-stop": 2, "rw-basic-data": 2}
NODES = ["ip-10-0-1-%d.ec2.internal" % i for i in (11, 23, 37, 52, 64, 78)]


def walk(n, parent, acc):
    acc.setdefault(n.svc, set())
    if parent is not None:
        acc[parent.svc].add(n.svc)
    for k in n.kids:
        walk(k, n, acc)


def topology(fl):
    acc = {}
    for _, r in fl:
        walk(r, None, acc)
    for s in IDLE:
        acc.setdefault(s, set())
    acc["rw-admin-account"].add("rw-account")
    acc["rw-execute"].update({"rw-booking", "rw-booking-alt"})
    return {s: sorted(v - {s}) for s, v in sorted(acc.items())}


def rand_suffix(rng, n=5):
    return "".join(rng.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(n))


def make_layout(rng, svcs):
    pods = {}
    for s in svcs:
        h = "".join(rng.choice("0123456789abcdef") for _ in range(rng.choice((9, 10))))
        pods[s] = [
            ("%s-%s-%s" % (s, h, rand_suffix(rng)), rng.choice(NODES))
            for _ in range(REPLICAS.get(s, 1))
        ]
    for s in svcs:
        if s.endswith("-mongo") or s.endswith("-mysql"):
            pods[s] = [("%s-0" % s, rng.choice(NODES))]
    return pods


# --------------------------------------------------------------------------- faults
FAULTS = (
    ["cpu"] * 9
    + ["memory"] * 6
    + ["delay"] * 9
    + ["loss"] * 6
    + ["disk"] * 4
    + ["exception"] * 8
    + ["wrong_return"] * 6
)
KIND = {
    "cpu": "resource_saturation",
    "memory": "resource_saturation",
    "disk": "resource_saturation",
    "delay": "network",
    "loss": "network",
    "exception": "code_defect",
    "wrong_return": "code_defect",
}
CANDIDATES = {
    "cpu": [
        "rw-trip",
        "rw-basic-data",
        "rw-seat-alloc",
        "rw-route",
        "rw-ticket-info",
        "rw-stop",
        "rw-auth",
        "rw-trip-express",
        "rw-route-planner",
        "rw-booking",
        "rw-fare",
        "rw-train-type",
        GW,
    ],
    "memory": [
        "rw-trip",
        "rw-booking",
        "rw-seat-alloc",
        "rw-reserve",
        "rw-basic-data",
        "rw-route",
        "rw-wallet",
        "rw-meal",
    ],
    "delay": [
        "rw-stop",
        "rw-route",
        "rw-auth",
        "rw-config",
        "rw-fare",
        "rw-train-type",
        "rw-booking",
        "rw-seat-alloc",
        "rw-ticket-info",
        "rw-passenger",
        "rw-captcha",
        "rw-trip-express",
        GW,
    ],
    "loss": [
        "rw-booking",
        "rw-route",
        "rw-basic-data",
        "rw-stop",
        "rw-seat-alloc",
        "rw-trip",
        "rw-auth",
        "rw-wallet",
    ],
    "disk": ["rw-booking", "rw-notify", "rw-parcel", "rw-payment", "rw-wallet", "rw-delivery"],
    "exception": [
        "rw-seat-alloc",
        "rw-route",
        "rw-fare",
        "rw-payment",
        "rw-passenger",
        "rw-ticket-info",
        "rw-config",
        "rw-insurance",
        "rw-train-type",
        "rw-parcel-fare",
        "rw-meal-catalog",
        "rw-captcha",
    ],
    "wrong_return": [
        "rw-fare",
        "rw-config",
        "rw-train-type",
        "rw-stop",
        "rw-seat-alloc",
        "rw-passenger",
        "rw-route",
        "rw-ticket-info",
    ],
}


def plan_incidents(rng):
    types = FAULTS[:]
    rng.shuffle(types)
    used = {}
    out = []
    for i, ft in enumerate(types):
        cands = CANDIDATES[ft][:]
        rng.shuffle(cands)
        cands.sort(key=lambda s: used.get((ft, s), 0))
        svc = cands[0]
        used[(ft, svc)] = used.get((ft, svc), 0) + 1
        weak = rng.random() < 0.3
        p = {"type": ft, "svc": svc, "weak": weak}
        if ft == "cpu":
            p["intensity"] = rng.uniform(0.35, 0.6) if weak else rng.uniform(0.7, 1.0)
        elif ft == "memory":
            p["intensity"] = rng.uniform(0.5, 1.0)
            p["oom"] = (not weak) and rng.random() < 0.5
            p["ramp_s"] = rng.uniform(200, 420) if p["oom"] else rng.uniform(500, 900)
        elif ft == "delay":
            p["delay_ms"] = (
                rng.choice([200, 300, 500, 800, 1000]) if not weak else rng.choice([200, 250])
            )
            p["direction"] = rng.choice(["egress", "ingress"])
        elif ft == "loss":
            p["loss"] = rng.uniform(0.05, 0.12) if weak else rng.uniform(0.15, 0.35)
        elif ft == "disk":
            p["intensity"] = rng.uniform(0.4, 0.7) if weak else rng.uniform(0.8, 1.0)
        elif ft == "exception":
            p["prob"] = rng.uniform(0.15, 0.35) if weak else rng.uniform(0.5, 1.0)
            p["exc"] = rng.choice(
                [
                    "java.lang.RuntimeException",
                    "java.lang.NullPointerException",
                    "java.lang.IllegalStateException",
                    "java.lang.ArrayIndexOutOfBoundsException",
                ]
            )
        elif ft == "wrong_return":
            p["prob"] = rng.uniform(0.3, 0.5) if weak else rng.uniform(0.6, 1.0)
        p["logs"] = rng.random() < 0.5
        p["traces"] = rng.random() < 0.5
        p["step"] = rng.choice([15, 30, 30])
        p["change"] = rng.random() < 0.15
        p["i"] = i
        out.append(p)
    return out


# --------------------------------------------------------------------------- request simulation
TIMEOUT_MS = 5000.0
GW_TIMEOUT_MS = 15000.0


class Sim:
    """Simulates one request through a call tree at time t, honouring the fault."""

    def __init__(self, fault, onset, rng, replicas):
        self.f, self.onset, self.rng, self.rep = fault, onset, rng, replicas
        self.oom_at = None
        self.down = None  # (t0, t1) pod unavailable after OOM
        self.exc_op = None
        self.wrong_op = None
        self.noise = None

    def leak(self, t):
        f = self.f
        if t < self.onset:
            return 0.0
        if self.down and t >= self.down[0]:
            return 0.0
        return min(1.0, (t - self.onset) / f["ramp_s"])

    def visit(self, n, t, parent, stats, spans, trace, start_ms):
        """Returns (server_ms, caller_ms, code, wrong, flags)."""
        rng, f = self.rng, self.f
        active = t >= self.onset
        faulty = active and n.svc == f["svc"] and rng.random() < 1.0 / self.rep.get(n.svc, 1)
        ft = f["type"]
        selfm = n.self_ms * math.exp(rng.gauss(0, 0.35))
        if self.noise and n.svc == self.noise[0] and self.noise[1] <= t < self.noise[2]:
            selfm *= self.noise[3] * rng.uniform(0.5, 1.5)  # unrelated, self-healing blip
        if rng.random() < 0.01:
            selfm *= rng.uniform(3, 12)  # ordinary tail (GC, cold cache)
        cpu_ms = selfm
        net_in = net_out = 0.0
        code, wrong, flag = 200, False, "-"
        if faulty:
            if self.down and self.down[0] <= t < self.down[1]:
                d = rng.uniform(0.5, 3)
                stats.append((parent.svc if parent else None, n, d, d, 503, "UF"))
                return d, d, 503, False, "UF"
            if ft == "cpu":
                selfm *= 1 + f["intensity"] * rng.expovariate(1 / 3.0)
            elif ft == "memory":
                lk = self.leak(t)
                selfm *= 1 + f["intensity"] * lk * lk * rng.expovariate(1 / 2.0)
                if rng.random() < 0.08 * lk * f["intensity"]:
                    selfm += rng.uniform(150, 1500) * lk
            elif ft == "disk":
                selfm *= 1 + 0.4 * f["intensity"] * rng.random()
                if n.write:
                    selfm += f["intensity"] * rng.lognormvariate(math.log(120), 0.7)
            elif ft == "delay":
                if f["direction"] == "egress":
                    net_out = f["delay_ms"] * rng.uniform(0.9, 1.1)
                else:
                    net_in = f["delay_ms"] * rng.uniform(0.9, 1.1)
            elif ft == "exception" and n.op == self.exc_op and rng.random() < f["prob"]:
                code = 500
                selfm *= 0.6
            elif ft == "wrong_return" and n.op == self.wrong_op and rng.random() < f["prob"]:
                wrong = True
        if n.db:
            d = selfm
            if spans is not None and parent is not None:
                spans.append(
                    dict(
                        trace_id=trace,
                        span_id=None,
                        parent=parent,
                        service=parent.svc,
                        name="MongoDB/%s" % n.op
                        if "mongo" in n.svc
                        else "Mysql/JDBI/PreparedStatement/%s" % n.op,
                        start_ms=start_ms,
                        duration_ms=d,
                        code=None,
                        kind="client",
                        peer=n.svc,
                    )
                )
            stats.append((parent.svc if parent else None, n, d, d, 200, "-"))
            return d, d, 200, False, "-"
        my_span = None
        if spans is not None:
            my_span = dict(
                trace_id=trace,
                span_id=None,
                parent=parent,
                service=n.svc,
                name=n.op,
                start_ms=start_ms + net_in,
                duration_ms=0.0,
                code=200,
                kind="server",
                node=n,
            )
            spans.append(my_span)
        elapsed = selfm * 0.4
        timeout = GW_TIMEOUT_MS if n.svc == GW else TIMEOUT_MS
        child_errs = []
        if code == 200:
            for k in n.kids:
                extra = 0.0
                if faulty and ft == "delay":
                    extra = (
                        net_out if f["direction"] == "egress" else net_in
                    )  # outbound request or inbound response delayed
                ks, kc, kcode, kw, kflag = self.visit(
                    k,
                    t,
                    n,
                    stats,
                    None if spans is None else spans,
                    trace,
                    start_ms + net_in + elapsed + (extra if f["direction"] == "egress" else 0)
                    if ft == "delay"
                    else start_ms + net_in + elapsed,
                )
                kc += extra
                if faulty and ft == "loss":
                    kc += self.loss_penalty()
                if kc > timeout:
                    kc, kcode = timeout, 504
                    child_errs.append((k, "timeout"))
                elif kcode >= 500:
                    child_errs.append((k, "5xx" if kcode != 503 else "503"))
                elif kw:
                    child_errs.append((k, "wrong"))
                elapsed += kc
                if child_errs and rng.random() < 0.9:
                    break
        elapsed += selfm * 0.6
        for k, why in child_errs:
            if why == "wrong":
                if rng.random() < 0.85:
                    code = 500
            elif rng.random() < 0.9:
                code = 500
        server = elapsed
        caller = elapsed + net_in + net_out
        if faulty and ft == "loss":
            caller += self.loss_penalty()
        if my_span is not None:
            my_span["duration_ms"] = server
            my_span["code"] = code
            my_span["errs"] = child_errs
            my_span["faulty"] = faulty
        stats.append(
            (
                parent.svc if parent else None,
                n,
                server,
                caller,
                code,
                flag,
                child_errs,
                faulty,
                wrong,
                cpu_ms,
            )
        )
        return server, caller, code, wrong, flag

    def loss_penalty(self):
        rng, L = self.rng, self.f["loss"]
        pen, rto = 0.0, 200.0
        for _ in range(3):  # a few packets per exchange
            while rng.random() < L:
                pen += rto
                rto *= 2
                if rto > 12800:
                    break
            rto = 200.0
        if rng.random() < L * 0.05:
            pen += TIMEOUT_MS  # connection stall -> client read timeout
        return pen


# --------------------------------------------------------------------------- helpers
def iso(ts):
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def iso_s(ts):
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def fmt(v):
    if v == int(v) and abs(v) < 1e15:
        return str(int(v))
    return "%.6g" % v if abs(v) < 1e5 else "%.10g" % v


def hexid(rng, n):
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


LES = [10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, float("inf")]
SEC_LES = None


class Series:
    def __init__(self):
        self.d = {}

    def add(self, name, labels, ts, val):
        key = (name, tuple(sorted(labels.items())))
        self.d.setdefault(key, []).append([ts, fmt(val)])

    def dump(self, mdir, drop_rng=None):
        by = {}
        for (name, lab), vals in self.d.items():
            m = {"__name__": name}
            m.update(dict(lab))
            by.setdefault(name, []).append({"metric": m, "values": vals})
        for name, res in by.items():
            with open(os.path.join(mdir, name + ".json"), "w") as fh:
                json.dump(
                    {"status": "success", "data": {"resultType": "matrix", "result": res}},
                    fh,
                    separators=(",", ":"),
                )
        return sorted(by)


# --------------------------------------------------------------------------- bundle builder
def build(inc, args, layout, topo, fl, base_rng_seed, outdir):
    rng = random.Random(base_rng_seed * 1000 + inc["i"])
    step = inc["step"]
    onset = 1773100800 + inc["i"] * 3600 + rng.randint(0, 2400)  # 2026-03-10 onward
    onset = onset - onset % 1  # whole seconds
    start = onset - 1800 - rng.randint(0, 120)
    start -= start % step
    end = onset + 600
    times = list(range(start, end + 1, step))
    fsvc, ft = inc["svc"], inc["type"]
    sim = Sim(inc, onset, rng, REPLICAS)
    # choose exception / wrong-return op: one op of the faulty service in the flows (busiest)
    ops = {}
    for r, root in fl:

        def coll(n):
            if n.svc == fsvc and not n.db:
                ops[n.op] = ops.get(n.op, 0) + r
            for k in n.kids:
                coll(k)

        coll(root)
    if ops:
        oplist = sorted(ops, key=lambda o: -ops[o])
        sim.exc_op = sim.wrong_op = (
            oplist[0] if rng.random() < 0.7 or len(oplist) == 1 else oplist[1]
        )
    if ft == "memory" and inc.get("oom"):
        t0 = onset + inc["ramp_s"]
        sim.down = (t0, t0 + rng.uniform(25, 50))
        sim.oom_at = t0
    if rng.random() < 0.4:
        nsvc = rng.choice(
            [
                x
                for x in (
                    "rw-news",
                    "rw-voucher",
                    "rw-checkin",
                    "rw-insurance",
                    "rw-account",
                    "rw-parcel",
                    "rw-meal-catalog",
                    "rw-refund",
                    "rw-rebooking",
                )
                if x != fsvc
            ]
        )
        nt0 = onset + rng.randint(-1200, 240)
        sim.noise = (nsvc, nt0, nt0 + rng.randint(60, 240), rng.uniform(4, 15))
        inc["noise"] = "%s latency blip x%.0f at %s" % (nsvc, sim.noise[3], iso_s(nt0))
    # rates: per-incident load jitter
    load = rng.uniform(0.7, 1.3)
    flow_rates = [(r * load * rng.uniform(0.8, 1.2), root) for r, root in fl]
    S = Series()
    istio_cnt, istio_sum, istio_n, istio_bkt = {}, {}, {}, {}
    http_cnt, http_sum = {}, {}
    cpu_work = {}  # svc -> ms cpu per step (current)
    gw_p90, gw_err = [], []
    logev = []  # (ts, svc, level, kind, detail)
    svc_reqs = {}
    fault_pod = layout[fsvc][0][0]
    for ti, t in enumerate(times):
        stats = []
        roots = []
        scale_of = []
        for r, root in flow_rates:
            lam = r * step
            n = max(1, min(40, int(round(lam)))) if lam >= 0.5 else (1 if rng.random() < lam else 0)
            if n == 0:
                continue
            sc = lam / n if lam >= 0.5 else 1.0
            for _ in range(n):
                before = len(stats)
                tt = t - step + rng.random() * step
                s, c, code, w, fl_ = sim.visit(root, tt, None, stats, None, None, 0.0)
                roots.append((c, code, sc))
                for j in range(before, len(stats)):
                    stats[j] = (
                        stats[j] + (sc, tt)
                        if len(stats[j]) > 6
                        else stats[j] + ((), False, False, 0.0, sc, tt)
                    )
        # gateway SLIs
        tot = sum(x[2] for x in roots) or 1
        errs = sum(x[2] for x in roots if x[1] >= 500)
        srt = sorted(roots)
        acc, p90 = 0.0, srt[-1][0] if srt else 0
        for c, code, sc in srt:
            acc += sc
            if acc >= 0.9 * tot:
                p90 = c
                break
        gw_p90.append(p90)
        gw_err.append(errs / tot)
        cw = {}
        for st in stats:
            src, n, server, caller, code, flag, child_errs, faulty, wrong, cpu_ms, sc, tt = st
            svc_reqs[n.svc] = svc_reqs.get(n.svc, 0) + sc
            cw[n.svc] = cw.get(n.svc, 0.0) + (cpu_ms or server * 0.3) * sc
            if n.db or src is None and n.svc != GW:
                continue
            s_src = src if src else "istio-ingressgateway"
            for rep, dur, rc in (("destination", server, code), ("source", caller, code)):
                if rep == "source":
                    if src is None:
                        continue
                    if caller >= (GW_TIMEOUT_MS if src == GW else TIMEOUT_MS):
                        rc = 504
                if rep == "destination" and flag == "UF":
                    continue
                if rep == "source" and flag == "UF":
                    rc = 503
                k = (rep, s_src, n.svc, rc)
                istio_cnt[k] = istio_cnt.get(k, 0.0) + sc
                k2 = (rep, s_src, n.svc)
                istio_sum[k2] = istio_sum.get(k2, 0.0) + dur * sc
                istio_n[k2] = istio_n.get(k2, 0.0) + sc
                if rep == "destination":
                    b = istio_bkt.setdefault(k2, [0.0] * len(LES))
                    for li, le in enumerate(LES):
                        if dur <= le:
                            b[li] += sc
            if n.svc in MICROMETER:
                status = str(code)
                k = (n.svc, n.op, status)
                http_cnt[k] = http_cnt.get(k, 0.0) + sc
                http_sum[k] = http_sum.get(k, 0.0) + server / 1000.0 * sc
            # log events (scaled counts)
            if args_logs_needed(inc):
                if faulty and ft == "exception" and code == 500 and not child_errs:
                    logev.append((tt, n.svc, "ERROR", "exception", n.op, sc))
                for k, why in child_errs:
                    logev.append(
                        (
                            tt,
                            n.svc,
                            "ERROR" if why != "wrong" else "WARN",
                            why,
                            (k.svc, k.op, n.op),
                            sc,
                        )
                    )
        cpu_work[t] = cw
        # emit istio + micrometer counters cumulatively
        for (rep, s_src, dst, rc), v in istio_cnt.items():
            lab = {
                "reporter": rep,
                "source_workload": s_src,
                "source_workload_namespace": NS
                if s_src != "istio-ingressgateway"
                else "istio-system",
                "destination_workload": dst,
                "destination_workload_namespace": NS,
                "destination_service": "%s.%s.svc.cluster.local" % (dst, NS),
                "destination_app": dst,
                "response_code": str(rc),
                "response_flags": "-"
                if rc < 500
                else ("UT" if rc == 504 else ("UF" if rc == 503 else "-")),
                "request_protocol": "http",
                "connection_security_policy": "mutual_tls" if rep == "destination" else "unknown",
                "app": dst if rep == "destination" else s_src,
                "namespace": NS
                if not (rep == "source" and s_src == "istio-ingressgateway")
                else "istio-system",
            }
            S.add("istio_requests_total", lab, t, round(v))
        for (rep, s_src, dst), v in istio_n.items():
            lab = {
                "reporter": rep,
                "source_workload": s_src,
                "destination_workload": dst,
                "destination_app": dst,
                "app": dst if rep == "destination" else s_src,
                "namespace": NS,
            }
            S.add("istio_request_duration_milliseconds_count", lab, t, round(v))
            S.add(
                "istio_request_duration_milliseconds_sum",
                lab,
                t,
                round(istio_sum[(rep, s_src, dst)], 1),
            )
            if rep == "destination":
                for li, le in enumerate(LES):
                    l2 = dict(lab)
                    l2["le"] = "+Inf" if le == float("inf") else fmt(le)
                    S.add(
                        "istio_request_duration_milliseconds_bucket",
                        l2,
                        t,
                        round(istio_bkt[(rep, s_src, dst)][li]),
                    )
        for (svc, op, status), v in http_cnt.items():
            for pi, (pod, node) in enumerate(layout[svc]):
                if svc == fsvc and pi > 0 and False:
                    pass
                share = 1.0 / len(layout[svc])
                lab = {
                    "application": svc,
                    "job": svc,
                    "service": svc,
                    "namespace": NS,
                    "pod": pod,
                    "instance": "%s:8080" % pod,
                    "uri": op.split(" ", 1)[1],
                    "method": op.split(" ", 1)[0],
                    "status": status,
                    "outcome": "SUCCESS"
                    if status.startswith("2")
                    else ("SERVER_ERROR" if status.startswith("5") else "CLIENT_ERROR"),
                    "exception": "None"
                    if status == "200"
                    else (
                        inc.get("exc", "RuntimeException").split(".")[-1]
                        if svc == fsvc and ft == "exception"
                        else "HttpServerErrorException"
                    ),
                }
                S.add("http_server_requests_seconds_count", lab, t, round(v * share))
                S.add(
                    "http_server_requests_seconds_sum",
                    lab,
                    t,
                    round(http_sum[(svc, op, status)] * share, 3),
                )
    # -------------------------------------------------------------- container / node metrics
    res = pod_metrics(inc, rng, layout, times, step, onset, cpu_work, sim, S, fsvc, ft)
    # unrelated noise: a random unrelated pod with a CPU burst near onset, an unrelated WARN burst
    # (done inside pod_metrics for metrics)
    # -------------------------------------------------------------- alert
    base = [v for t, v in zip(times, gw_p90) if t < onset - 60]
    be = [v for t, v in zip(times, gw_err) if t < onset - 60]
    mu, sd = (
        sum(base) / len(base),
        (sum((x - sum(base) / len(base)) ** 2 for x in base) / len(base)) ** 0.5,
    )
    emu = sum(be) / len(be)
    fire, aname = None, None
    consec = 0
    for t, p, e in zip(times, gw_p90, gw_err):
        if t <= onset:
            continue
        bad_l = p > max(mu * 1.4, mu + 4 * sd)
        bad_e = e > emu + 0.02
        consec = consec + 1 if (bad_l or bad_e) else 0
        if consec >= 2:
            fire = t + rng.randint(5, 60)
            aname = "GatewayErrorRatioSLOBreach" if bad_e else "GatewayLatencyP90SLOBreach"
            break
    if fire is None or fire > end - 30:
        fire = onset + rng.randint(60, 200)
        aname = (
            "GatewayLatencyP90SLOBreach"
            if ft in ("cpu", "memory", "delay", "disk")
            else "GatewayErrorRatioSLOBreach"
        )
    fire = min(fire, end - 30)
    inc["onset"], inc["alert_at"], inc["alertname"] = onset, fire, aname
    bid = "tt-%02d-%s" % (inc["i"] + 1, iso_s(onset).replace(":", "").replace("-", "")[:13])
    inc["id"] = bid
    bdir = os.path.join(outdir, bid)
    os.makedirs(os.path.join(bdir, "metrics"), exist_ok=True)
    fp = hashlib.sha1(("%s%s" % (bid, aname)).encode()).hexdigest()[:16]
    summary = {
        "GatewayLatencyP90SLOBreach": "p90 latency of rw-web-gateway above SLO (1.2s) for 1m",
        "GatewayErrorRatioSLOBreach": "5xx ratio of rw-web-gateway above 2% for 1m",
    }[aname]
    alert = [
        {
            "labels": {
                "alertname": aname,
                "service": GW,
                "namespace": NS,
                "severity": "page",
                "slo": "availability" if "Error" in aname else "latency",
                "team": "booking-platform",
                "prometheus": "monitoring/k8s",
            },
            "annotations": {
                "summary": summary,
                "description": "SLO burn on %s.%s; see Grafana dashboard 'Railway / Gateway'."
                % (GW, NS),
                "runbook_url": "https://runbooks.example.internal/railway/gateway-slo",
            },
            "startsAt": iso(fire),
            "endsAt": iso(fire + 300),
            "fingerprint": fp,
            "status": {"state": "active", "silencedBy": [], "inhibitedBy": []},
            "generatorURL": "http://prometheus.monitoring:9090/graph?g0.expr=gateway%3Aslo_burn&g0.tab=1",
            "receivers": [{"name": "pagerduty-booking"}],
            "updatedAt": iso(fire + rng.randint(1, 30)),
        }
    ]
    json.dump(alert, open(os.path.join(bdir, "alerts.json"), "w"), indent=1)
    names = S.dump(os.path.join(bdir, "metrics"))
    yaml.safe_dump(
        {n: QUERIES.get(n, n) for n in names},
        open(os.path.join(bdir, "metrics", "queries.yaml"), "w"),
        sort_keys=True,
    )
    yaml.safe_dump(
        {
            "id": bid,
            "title": "%s on %s" % (aname, GW),
            "window": {"start": iso_s(start), "end": iso_s(end)},
            "focus_alert": fp,
            "source": "synthetic fault-injection benchmark (gen_benchmark.py)",
            "scrape_step_seconds": step,
        },
        open(os.path.join(bdir, "bundle.yaml"), "w"),
        sort_keys=False,
    )
    # changes
    changes = []
    if inc["change"]:
        cs = rng.choice([s for s in topo if s != fsvc and not s.endswith(("-mongo", "-mysql"))])
        ct = onset - rng.randint(300, 1500)
        kind = rng.choice(["config", "scale", "flag"])
        changes.append(
            {
                "id": "chg-%s" % hexid(rng, 8),
                "ts": iso_s(ct),
                "service": cs,
                "kind": kind,
                "summary": {
                    "config": "rotate log level of %s to INFO (routine)" % cs,
                    "scale": "HPA scaled %s 1->1 (no-op reconcile)" % cs,
                    "flag": "enable feature flag ui.banner.spring-sale on %s" % cs,
                }[kind],
                "author": rng.choice(["argocd", "jdoe", "mli"]),
            }
        )
        inc["change_svc"] = cs
    json.dump(changes, open(os.path.join(bdir, "changes.json"), "w"), indent=1)
    yaml.safe_dump(
        {"services": {s: {"depends_on": d} for s, d in topo.items()}},
        open(os.path.join(bdir, "topology.yaml"), "w"),
        sort_keys=True,
    )
    yaml.safe_dump(
        {
            "root_cause": {"kind": KIND[ft], "service": fsvc},
            "match": "service",
            "fault": describe(inc),
        },
        open(os.path.join(bdir, "truth.yaml"), "w"),
        sort_keys=False,
    )
    if res.get("events"):
        os.makedirs(os.path.join(bdir, "events"), exist_ok=True)
        with open(os.path.join(bdir, "events", "k8s.jsonl"), "w") as fh:
            for e in res["events"]:
                fh.write(json.dumps(e) + "\n")
    if inc["logs"]:
        write_logs(inc, rng, layout, times, step, onset, logev, bdir, sim, topo)
    if inc["traces"]:
        write_traces(inc, rng, flow_rates, sim, start, end, onset, layout, bdir)
    return inc


def args_logs_needed(inc):
    return inc["logs"]


QUERIES = {
    "container_cpu_usage_seconds_total": 'container_cpu_usage_seconds_total{namespace="railway",container!="",container!="POD"}',
    "container_memory_working_set_bytes": 'container_memory_working_set_bytes{namespace="railway",container!="",container!="POD"}',
}


def describe(inc):
    ft = inc["type"]
    if ft == "cpu":
        return "CPU stress in one pod, intensity %.2f" % inc["intensity"]
    if ft == "memory":
        return "memory leak, intensity %.2f, ramp %ds%s" % (
            inc["intensity"],
            inc["ramp_s"],
            ", OOMKilled" if inc.get("oom") else "",
        )
    if ft == "delay":
        return "tc netem %s delay %dms" % (inc["direction"], inc["delay_ms"])
    if ft == "loss":
        return "packet loss %.0f%%" % (100 * inc["loss"])
    if ft == "disk":
        return "disk I/O stress, intensity %.2f" % inc["intensity"]
    if ft == "exception":
        return "%s thrown in one endpoint, p=%.2f" % (inc["exc"], inc["prob"])
    return "wrong return value (HTTP 200) from one endpoint, p=%.2f" % inc["prob"]


def pod_metrics(inc, rng, layout, times, step, onset, cpu_work, sim, S, fsvc, ft):
    events = []
    node_extra = {n: [0.0] * len(times) for n in NODES}
    node_io = {n: [0.0] * len(times) for n in NODES}
    noisy_pod = rng.choice([p for s, ps in layout.items() if s != fsvc for p in ps])
    noisy_t = onset + rng.randint(-600, 300)
    for svc, pods in layout.items():
        isdb = svc.endswith(("-mongo", "-mysql"))
        limit = 2.0 if isdb else rng.choice([1.0, 1.0, 2.0])
        mem_limit = (2 if isdb else rng.choice([1, 1.5, 2])) * 1024**3
        for pi, (pod, node) in enumerate(pods):
            cont = svc if not isdb else ("mongodb" if "mongo" in svc else "mysql")
            lab = {
                "namespace": NS,
                "pod": pod,
                "container": cont,
                "image": "registry.example.internal/railway/%s:1.%d.%d" % (svc, 4, len(svc) % 9),
            }
            is_f = svc == fsvc and pi == 0
            cpu = rng.uniform(0, 50)
            thr = rng.uniform(0, 20)
            rx = rng.uniform(1e6, 5e7)
            tx = rng.uniform(1e6, 5e7)
            fsw = rng.uniform(1e6, 1e8)
            mem_base = (rng.uniform(350, 800) if not isdb else rng.uniform(200, 900)) * 1024**2
            mem_base = min(mem_base, 0.55 * mem_limit * rng.uniform(0.8, 1.0))
            restarts = rng.choice([0, 0, 0, 1, 2])
            gc_n, gc_s = rng.uniform(100, 2000), rng.uniform(1, 20)
            restarted = False
            idle_gap = rng.random() < 0.04
            for ti, t in enumerate(times):
                if idle_gap and 0.3 < ti / len(times) < 0.36:
                    continue  # scrape gap
                work = cpu_work[t].get(svc, 0.0) / len(pods) / 1000.0  # cpu-seconds in step
                rate = 0.012 + work * (2.5 if not isdb else 1.2) / step + abs(rng.gauss(0, 0.006))
                if rng.random() < 0.03:
                    rate += rng.uniform(0.02, 0.15)  # JIT / GC bursts
                throttle_frac = 0.0
                active = t >= onset
                leak = 0.0
                if is_f and active:
                    if ft == "cpu":
                        rate = min(
                            limit,
                            rate
                            + limit * (0.55 + 0.5 * inc["intensity"]) * rng.uniform(0.93, 1.03),
                        )
                        throttle_frac = min(0.95, 0.35 + 0.6 * inc["intensity"]) * rng.uniform(
                            0.8, 1
                        )
                        node_extra[node][ti] += rate
                    elif ft == "memory":
                        leak = sim.leak(t)
                        rate += 0.15 * leak * inc["intensity"] * rng.uniform(0.5, 1.5)  # GC threads
                    elif ft == "disk":
                        rate += 0.08 * inc["intensity"]
                        fsw += inc["intensity"] * rng.uniform(60, 140) * 1024**2 * step
                        node_io[node][ti] += inc["intensity"] * rng.uniform(0.3, 0.7)
                    elif ft == "loss":
                        rx += rng.uniform(2e3, 2e4) * step * inc["loss"] * 10  # retransmits
                if abs(t - noisy_t) < 120 and pod == noisy_pod[0]:
                    rate += rng.uniform(0.2, 0.5)  # unrelated batch job / cache warmup
                if rate > limit * 0.85 and throttle_frac == 0.0:
                    throttle_frac = 0.1
                if rng.random() < 0.02:
                    throttle_frac += 0.05
                cpu += rate * step
                thr += throttle_frac * step / 0.1 * (0.9 if throttle_frac else 0)
                reqs = cpu_work[t].get(svc, 0.0)
                rx += (reqs * 25 + rng.uniform(2e3, 8e3)) * step / max(1, len(pods))
                tx += (reqs * 40 + rng.uniform(2e3, 8e3)) * step / max(1, len(pods))
                if isdb or svc in (
                    "rw-notify",
                    "rw-delivery",
                    "rw-booking",
                    "rw-payment",
                    "rw-wallet",
                    "rw-parcel",
                ):
                    fsw += rng.uniform(2e3, 3e4) * step
                else:
                    fsw += rng.uniform(0, 2e3) * step
                saw = (math.sin(t / rng.uniform(90, 110)) + 1) * 0.06 * mem_base
                mem = mem_base + saw + rng.gauss(0, 0.01 * mem_base)
                if is_f and ft == "memory":
                    if sim.down and t >= sim.down[0]:
                        if not restarted:
                            restarted = True
                            restarts += 1
                            cpu = rng.uniform(5, 12)
                            thr = 0
                            rx = rng.uniform(1e4, 1e5)
                            tx = rng.uniform(1e4, 1e5)
                            fsw = rng.uniform(1e5, 1e6)
                            gc_n, gc_s = 0.0, 0.0
                            events.append(
                                {
                                    "ts": iso(sim.down[0]),
                                    "service": svc,
                                    "reason": "OOMKilled",
                                    "type": "Warning",
                                    "message": "Container %s in pod %s was OOMKilled (exit code 137)"
                                    % (svc, pod),
                                    "object": "pod/%s" % pod,
                                    "count": 1,
                                    "namespace": NS,
                                }
                            )
                            events.append(
                                {
                                    "ts": iso(sim.down[0] + 2),
                                    "service": svc,
                                    "reason": "BackOff",
                                    "type": "Warning",
                                    "message": "Back-off restarting failed container %s" % svc,
                                    "object": "pod/%s" % pod,
                                    "count": 1,
                                    "namespace": NS,
                                }
                            )
                            events.append(
                                {
                                    "ts": iso(sim.down[1] - 5),
                                    "service": svc,
                                    "reason": "Unhealthy",
                                    "type": "Warning",
                                    "message": "Readiness probe failed: HTTP probe failed with statuscode: 503",
                                    "object": "pod/%s" % pod,
                                    "count": 3,
                                    "namespace": NS,
                                }
                            )
                        if t < sim.down[1]:
                            continue  # no samples while down
                        mem = mem_base * 0.7 + rng.gauss(0, 0.01 * mem_base)
                    else:
                        mem = mem + leak * inc["intensity"] * (mem_limit * 0.98 - mem)
                        if sim.down is None:
                            mem = min(mem, mem_limit * 0.93)
                S.add("container_cpu_usage_seconds_total", lab, t, round(cpu, 3))
                S.add("container_memory_working_set_bytes", lab, t, int(mem))
                S.add(
                    "container_network_receive_bytes_total",
                    {k: v for k, v in lab.items() if k != "container"} | {"interface": "eth0"},
                    t,
                    int(rx),
                )
                S.add(
                    "container_network_transmit_bytes_total",
                    {k: v for k, v in lab.items() if k != "container"} | {"interface": "eth0"},
                    t,
                    int(tx),
                )
                S.add(
                    "container_fs_writes_bytes_total", lab | {"device": "/dev/nvme0n1"}, t, int(fsw)
                )
                S.add("container_cpu_cfs_throttled_periods_total", lab, t, int(thr))
                S.add(
                    "kube_pod_container_status_restarts_total",
                    {
                        "namespace": NS,
                        "pod": pod,
                        "container": cont,
                        "uid": hashlib.md5(pod.encode()).hexdigest()[:8],
                    },
                    t,
                    restarts,
                )
                if svc in MICROMETER:
                    ml = {
                        "application": svc,
                        "job": svc,
                        "service": svc,
                        "namespace": NS,
                        "pod": pod,
                        "instance": "%s:8080" % pod,
                    }
                    heap_old = mem * 0.45 + (
                        0.0
                        if not (is_f and ft == "memory")
                        else leak * inc["intensity"] * mem * 0.3
                    )
                    S.add(
                        "jvm_memory_used_bytes",
                        ml | {"area": "heap", "id": "G1 Old Gen"},
                        t,
                        int(heap_old),
                    )
                    S.add(
                        "jvm_memory_used_bytes",
                        ml | {"area": "heap", "id": "G1 Eden Space"},
                        t,
                        int(rng.uniform(0.05, 0.2) * mem),
                    )
                    S.add(
                        "jvm_memory_used_bytes",
                        ml | {"area": "nonheap", "id": "Metaspace"},
                        t,
                        int(1.1e8 + rng.uniform(0, 2e6)),
                    )
                    gcr = (
                        0.05
                        + work * 0.4
                        + (leak * inc["intensity"] * 1.5 if is_f and ft == "memory" else 0.0)
                    )
                    gc_n += gcr * step * rng.uniform(0.7, 1.3)
                    gc_s += (
                        gcr
                        * step
                        * (
                            0.008
                            + (0.25 * leak * inc["intensity"] if is_f and ft == "memory" else 0.0)
                        )
                        * rng.uniform(0.7, 1.3)
                    )
                    gl = ml | {"action": "end of minor GC", "cause": "G1 Evacuation Pause"}
                    S.add("jvm_gc_pause_seconds_count", gl, t, int(gc_n))
                    S.add("jvm_gc_pause_seconds_sum", gl, t, round(gc_s, 4))
                    if svc in MYSQL_SVCS:
                        act = min(10, max(0, round(rng.gauss(0.5 + work * 20, 0.7))))
                        if is_f and active and ft in ("disk", "cpu", "loss", "delay"):
                            act = min(10, act + rng.randint(1, 6))
                        S.add("hikaricp_connections_active", ml | {"pool": "HikariPool-1"}, t, act)
    # node exporter
    cpus = 8
    nstate = {
        n: {m: rng.uniform(1e5, 1e6) for m in ("idle", "user", "system", "iowait")} for n in NODES
    }
    for ni, node in enumerate(NODES):
        for ti, t in enumerate(times):
            busy = (
                sum(cpu_work[t].values()) / 1000 / step * 2.5 / len(NODES)
                + rng.uniform(0.5, 1.6)
                + node_extra[node][ti]
            )
            if rng.random() < 0.03:
                busy += rng.uniform(1, 3)  # unrelated noise (daemonset, log shipping)
            iow = 0.05 + node_io[node][ti] + abs(rng.gauss(0, 0.03))
            busy = min(cpus - iow - 0.1, busy)
            st = nstate[node]
            st["user"] += busy * 0.75 * step
            st["system"] += busy * 0.25 * step
            st["iowait"] += iow * step
            st["idle"] += (cpus - busy - iow) * step
            for m in ("idle", "user", "system", "iowait"):
                S.add(
                    "node_cpu_seconds_total",
                    {
                        "instance": node + ":9100",
                        "job": "node-exporter",
                        "mode": m,
                        "nodename": node,
                    },
                    t,
                    round(st[m], 2),
                )
            S.add(
                "node_load1",
                {"instance": node + ":9100", "job": "node-exporter", "nodename": node},
                t,
                round(busy + iow + rng.uniform(0, 0.5), 2),
            )
    return {"events": events}


# --------------------------------------------------------------------------- logs
BASE_INFO = [
    "Started request processing for {op}",
    "[{op}] completed in {ms} ms",
    "Query result size: {n}",
    "o.s.web.servlet.DispatcherServlet - Completed initialization",
    "HikariPool-1 - Pool stats (total=10, active={a}, idle={i}, waiting=0)",
    "Refreshing cache entries: {n} updated",
]
BASE_WARN = [
    "Slow request detected: {op} took {ms} ms",
    "HikariPool-1 - Thread starvation or clock leap detected (housekeeper delta={ms}ms).",
    "Deprecated config key spring.data.mongodb.uri-prefix used",
    "Retrying Eureka registration heartbeat (attempt 2)",
    "Unable to resolve trace context header, starting new trace",
]


def pkg(svc):
    return "com.example.railway." + svc.replace("rw-", "").replace("-", "")


def stack(exc, svc, msg):
    p = pkg(svc)
    cls = svc.replace("rw-", "").title().replace("-", "")
    return (
        "%s: %s\n\tat %s.service.%sServiceImpl.query(%sServiceImpl.java:%d)\n\tat %s.controller.%sController.handle(%sController.java:%d)\n"
        "\tat sun.reflect.GeneratedMethodAccessor87.invoke(Unknown Source)\n\tat org.springframework.web.servlet.FrameworkServlet.service(FrameworkServlet.java:883)\n"
        "\tat org.apache.catalina.core.ApplicationFilterChain.doFilter(ApplicationFilterChain.java:166)\n\t... 58 common frames omitted"
        % (exc, msg, p, cls, cls, 100 + len(svc) * 7, p, cls, cls, 40 + len(svc) * 3)
    )


def write_logs(inc, rng, layout, times, step, onset, logev, bdir, sim, topo):
    ldir = os.path.join(bdir, "logs")
    os.makedirs(ldir, exist_ok=True)
    lines = {}
    svcs = [s for s in topo if not s.endswith(("-mongo", "-mysql"))]
    lost = set(rng.sample(svcs, rng.randint(0, 4)))  # some services' logs missing entirely
    warn_svc = rng.choice([s for s in svcs if s != inc["svc"]])
    warn_t = onset + rng.randint(-900, 400)

    def emit(ts, svc, level, msg, thread=None, trace=None):
        pods = layout[svc]
        pod = (
            pods[0][0]
            if (svc == inc["svc"] and inc["type"] not in ("wrong_return",))
            else rng.choice(pods)[0]
        )
        rec = {
            "ts": iso(ts),
            "service": svc,
            "level": level,
            "msg": msg,
            "pod": pod,
            "namespace": NS,
            "logger": pkg(svc)
            + rng.choice([".controller.Controller", ".service.ServiceImpl", ".config.Startup"]),
            "thread": thread or "http-nio-8080-exec-%d" % rng.randint(1, 200),
        }
        if trace:
            rec["trace_id"] = trace
        lines.setdefault(svc, []).append((ts, rec))

    t0, t1 = times[0], times[-1]
    for svc in svcs:
        if svc in IDLE:
            continue
        n = int((t1 - t0) / rng.uniform(15, 60))
        for _ in range(n):
            ts = rng.uniform(t0, t1)
            if rng.random() < 0.04:
                emit(
                    ts,
                    svc,
                    "WARN",
                    rng.choice(BASE_WARN).format(
                        op="/api/v1/" + svc[3:], ms=rng.randint(800, 4000)
                    ),
                )
            else:
                emit(
                    ts,
                    svc,
                    "INFO",
                    rng.choice(BASE_INFO).format(
                        op="/api/v1/" + svc[3:],
                        ms=rng.randint(3, 80),
                        n=rng.randint(0, 300),
                        a=rng.randint(0, 3),
                        i=rng.randint(7, 10),
                    ),
                )
    # unrelated WARN burst
    for _ in range(rng.randint(5, 20)):
        emit(
            warn_t + rng.uniform(0, 90),
            warn_svc,
            "WARN",
            rng.choice(
                [
                    "Redis connection pool exhausted, falling back to direct DB read",
                    "Circuit breaker 'news-feed' OPEN after 5 failures",
                    "GC overhead: allocation failure, young gen collection took 180 ms",
                ]
            ),
        )
    f, ft = inc, inc["type"]
    exc = inc.get("exc", "java.lang.RuntimeException")
    budget = {}
    for ts, svc, level, kind, detail, sc in logev:
        key = (svc, kind)
        budget[key] = budget.get(key, 0) + 1
        if budget[key] > 250 or rng.random() > min(1.0, 0.5 * sc):
            continue
        tr = hexid(rng, 32) if rng.random() < 0.6 else None
        if kind == "exception":
            emit(
                ts,
                svc,
                "ERROR",
                "Servlet.service() for servlet [dispatcherServlet] in context with path [] threw exception [Request processing failed; nested exception is %s: %s] with root cause\n%s"
                % (
                    exc,
                    "injected failure in %s" % detail.split(" ")[1]
                    if rng.random() < 0.0
                    else "Unexpected state while handling " + detail.split(" ")[1],
                    stack(exc, svc, "Unexpected state while handling " + detail.split(" ")[1]),
                ),
                trace=tr,
            )
        else:
            ksvc, kop, myop = detail
            if " " not in kop:
                url = (
                    "mongodb://%s:27017" % ksvc
                    if "mongo" in ksvc
                    else "jdbc:mysql://%s:3306" % ksvc
                )
                kop = "QUERY " + kop
            else:
                url = "http://%s:8080%s" % (ksvc, kop.split(" ")[1])
            ts += rng.uniform(0.002, 0.06)  # caller logs after the callee answered
            if kind == "timeout" and url.startswith(("mongodb", "jdbc")):
                msg = (
                    "com.mongodb.MongoSocketReadTimeoutException: Timeout while receiving message"
                    if "mongo" in ksvc
                    else "com.mysql.cj.jdbc.exceptions.CommunicationsException: Communications link failure\n\nThe last packet successfully received from the server was 5,012 milliseconds ago."
                )
            elif kind == "timeout":
                msg = (
                    'I/O error on %s request for "%s": Read timed out; nested exception is java.net.SocketTimeoutException: Read timed out'
                    % (kop.split(" ")[0], url)
                )
            elif kind == "503":
                msg = (
                    'I/O error on %s request for "%s": Connection refused; nested exception is java.net.ConnectException: Connection refused'
                    % (kop.split(" ")[0], url)
                )
            elif kind == "wrong":
                msg = rng.choice(
                    [
                        "Business check failed for %s: response from %s inconsistent (expected non-empty result), order rejected"
                        % (myop.split(" ")[1], ksvc),
                        "java.lang.IllegalArgumentException: price must be positive, got -1.0 (from %s)"
                        % ksvc,
                        "Seat/route data mismatch after calling %s: returning status=0 'failure'"
                        % ksvc,
                        'Cannot deserialize value of type `java.util.Date` from String "" returned by %s'
                        % ksvc,
                        "Order creation failed: seat count mismatch (requested=1, confirmed=0)",
                        "java.lang.NullPointerException: null\n\tat %s.service.ServiceImpl.process(ServiceImpl.java:%d)"
                        % (pkg(svc), rng.randint(80, 300)),
                    ]
                )
                level = rng.choice(["WARN", "ERROR"])
            else:
                if ft == "loss" and ksvc == inc["svc"] and rng.random() < 0.3:
                    msg = (
                        'I/O error on %s request for "%s": Connection reset; nested exception is java.net.SocketException: Connection reset'
                        % (kop.split(" ")[0], url)
                    )
                else:
                    msg = (
                        'org.springframework.web.client.HttpServerErrorException$InternalServerError: 500 : [{"timestamp":"%s","status":500,"error":"Internal Server Error","path":"%s"}] calling %s'
                        % (iso(ts), kop.split(" ")[1], ksvc)
                    )
            emit(ts, svc, level, msg, trace=tr)
    if ft == "memory":
        lk_t = onset + inc["ramp_s"] * 0.6
        for k in range(rng.randint(3, 10)):
            ts = lk_t + k * rng.uniform(10, 40)
            if sim.down and ts >= sim.down[0]:
                break
            emit(
                ts,
                inc["svc"],
                "WARN",
                "[GC (Allocation Failure) [PSYoungGen] ... Full GC (Ergonomics) took %d ms, heap %d%% after GC"
                % (rng.randint(300, 2500), rng.randint(85, 98)),
                thread="GC Thread#0",
            )
        if sim.down:
            emit(
                sim.down[0] - 1,
                inc["svc"],
                "ERROR",
                "java.lang.OutOfMemoryError: Java heap space\n\tat java.util.Arrays.copyOf(Arrays.java:3332)\n\tat %s.cache.ResultCache.put(ResultCache.java:58)"
                % pkg(inc["svc"]),
            )
            emit(
                sim.down[1] + 3,
                inc["svc"],
                "INFO",
                "Started %sApplication in 21.7 seconds (JVM running for 24.3)"
                % inc["svc"].replace("rw-", "").title().replace("-", ""),
                thread="main",
            )
    for svc, ls in lines.items():
        if svc in lost:
            continue
        ls.sort(key=lambda x: x[0])
        with open(os.path.join(ldir, svc + ".jsonl"), "w") as fh:
            for _, rec in ls:
                fh.write(json.dumps(rec) + "\n")


# --------------------------------------------------------------------------- traces
def write_traces(inc, rng, flow_rates, sim, start, end, onset, layout, bdir):
    tdir = os.path.join(bdir, "traces")
    os.makedirs(tdir, exist_ok=True)
    tot = sum(r for r, _ in flow_rates)
    n_before, n_after = rng.randint(25, 40), rng.randint(25, 40)
    ts_list = [rng.uniform(start, onset - 5) for _ in range(n_before)] + [
        rng.uniform(onset + 5, end) for _ in range(n_after)
    ]
    status_style = rng.choice(["mostly_unset", "mostly_unset", "ok_error"])
    out = []
    for t in sorted(ts_list):
        x = rng.uniform(0, tot)
        for r, root in flow_rates:
            x -= r
            if x <= 0:
                break
        tid = hexid(rng, 32)
        spans = []
        stats = []
        sim.visit(root, t, None, stats, spans, tid, t * 1000.0)
        ids = {}
        for sp in spans:
            ids[id(sp)] = hexid(rng, 16)
        # map parent node objects to span ids: parent of a span is the last server span of parent node before it
        stack_by_node = {}
        for sp in spans:
            pid = None
            if sp["parent"] is not None:
                pid = stack_by_node.get(id(sp["parent"]))
            if sp["kind"] == "server":
                stack_by_node[id(sp["node"])] = ids[id(sp)]
            if sp["kind"] == "client":
                pid = stack_by_node.get(id(sp["parent"]))
            rec = {
                "trace_id": tid,
                "span_id": ids[id(sp)],
                "parent_id": pid,
                "service": sp["service"],
                "name": sp["name"],
                "start": iso(sp["start_ms"] / 1000.0),
                "duration_ms": round(sp["duration_ms"], 3),
            }
            pod_choices = layout[sp["service"]]
            rec["pod"] = (
                pod_choices[0][0]
                if (sp.get("faulty") or len(pod_choices) == 1)
                else rng.choice(pod_choices)[0]
            )
            rec["span.kind"] = sp["kind"]
            if sp["kind"] == "client":
                rec["db.system"] = "mongodb" if "mongo" in sp["peer"] else "mysql"
                rec["peer.service"] = sp["peer"]
            else:
                rec["http.status_code"] = sp["code"]
            err = sp["kind"] == "server" and sp["code"] >= 500
            if status_style == "ok_error":
                rec["status"] = "error" if err else "ok"
            elif err and rng.random() < 0.5:
                rec["status"] = "error"
            # else: no status key (unset in the export)
            out.append(rec)
    with open(os.path.join(tdir, "spans.jsonl"), "w") as fh:
        for r in out:
            fh.write(json.dumps(r) + "\n")


# --------------------------------------------------------------------------- main
def _worker(a):
    inc, seed, outdir = a
    rng = random.Random(seed)
    fl = flows()
    topo = topology(fl)
    layout = make_layout(random.Random(seed * 7 + 3), sorted(topo))
    return build(inc, None, layout, topo, fl, seed, outdir)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--only", type=int, default=None)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    incs = plan_incidents(rng)
    if args.only is not None:
        incs = [incs[args.only]]
    if os.path.isdir(args.out) and args.only is None:
        shutil.rmtree(args.out)
    os.makedirs(args.out, exist_ok=True)
    work = [(inc, args.seed, args.out) for inc in incs]
    if args.jobs > 1 and len(work) > 1:
        import multiprocessing as mp

        with mp.Pool(args.jobs) as pool:
            done = pool.map(_worker, work)
    else:
        done = [_worker(w) for w in work]
    man = {}
    for inc in done:
        man[inc["id"]] = {
            "truth": {"kind": KIND[inc["type"]], "service": inc["svc"], "match": "service"},
            "fault": inc["type"],
            "description": describe(inc)
            + (" (weak)" if inc["weak"] else "")
            + " in one pod of "
            + inc["svc"],
            "onset": iso_s(inc["onset"]),
            "page_service": GW,
            "alert": inc["alertname"],
            "alert_at": iso_s(inc["alert_at"]),
            "logs": inc["logs"],
            "traces": inc["traces"],
            "unrelated_change": inc.get("change_svc"),
            "unrelated_noise": inc.get("noise"),
        }
    if args.only is None:
        yaml.safe_dump(
            {"generator": "scripts/gen_benchmark.py", "seed": args.seed, "bundles": man},
            open(os.path.join(args.out, "MANIFEST.yaml"), "w"),
            sort_keys=False,
        )
    print("wrote %d bundles to %s" % (len(done), args.out))


if __name__ == "__main__":
    main()
