"""Discrete-event simulation (simpy) of a concurrent chat queue: c agents, up to K chats each, least-loaded
routing, a chat held with k others completes at rate k / (h (1 + beta (k - 1))) per agent, FCFS queue with
exponential patience, optional callback offer to arrivals finding every slot busy. Independent of the
models in surgeplan.teletraffic (used to check them).
"""

from collections import deque

import numpy as np
import simpy


def simulate_chat(lam, h, pat, c, k_max, beta, t, n_customers, seed=1, callback=0.0):
    env = simpy.Environment()
    rng = np.random.default_rng(seed)
    loads = [0] * c
    wake = [env.event() for _ in range(c)]
    queue = deque()
    waits, answered, abandoned, callbacks = [], [], [], []

    def poke(i):
        ev = wake[i]
        wake[i] = env.event()
        if not ev.triggered:
            ev.succeed()

    def take_from_queue(i):
        while queue:
            rec = queue.popleft()
            if rec["gone"]:
                continue
            rec["gone"] = True
            waits[rec["id"]] = env.now - rec["t"]
            answered[rec["id"]] = True
            return True
        return False

    def agent(i):
        while True:
            k = loads[i]
            ev = wake[i]
            if k == 0:
                yield ev
                continue
            rate = k / (h * (1.0 + beta * (k - 1)))
            done = env.timeout(rng.exponential(1.0 / rate))
            yield done | ev
            if not done.processed and not done.triggered:
                continue
            if ev.triggered:  # both at once: treat as the state change, redraw
                continue
            loads[i] -= 1
            if take_from_queue(i):
                loads[i] += 1

    def patience(rec):
        yield env.timeout(rng.exponential(pat) if np.isfinite(pat) else 1e300)
        if not rec["gone"]:
            rec["gone"] = True
            abandoned[rec["id"]] = True

    def arrivals():
        for j in range(n_customers):
            yield env.timeout(rng.exponential(1.0 / lam))
            waits.append(np.nan)
            answered.append(False)
            abandoned.append(False)
            callbacks.append(False)
            i = int(np.argmin(loads))
            if loads[i] < k_max:
                loads[i] += 1
                waits[j] = 0.0
                answered[j] = True
                poke(i)
            elif callback > 0 and rng.uniform() < callback:
                callbacks[j] = True
            else:
                rec = {"id": j, "t": env.now, "gone": False}
                queue.append(rec)
                env.process(patience(rec))

    for i in range(c):
        env.process(agent(i))
    env.process(arrivals())
    env.run()
    w = np.array(waits)
    ans = np.array(answered)
    ab = np.array(abandoned)
    cb = np.array(callbacks)
    skip = n_customers // 10
    w, ans, ab, cb = w[skip:], ans[skip:], ab[skip:], cb[skip:]
    stay = ~cb
    within = ans & (w <= t)
    return {
        "service_level": within[stay].mean(),
        "abandon": ab.mean(),
        "callback": cb.mean(),
        "n": len(w),
    }
