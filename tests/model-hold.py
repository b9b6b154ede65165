# gdb script for tests/model-hold.sh: the state of librtaio's rings in a
# process kept after a violation.  Where each thread ring and each ring
# owed to the reaper stands (CQ head and tail, SQEs the kernel has not
# taken, reads still expected), and what the reaper's futex_waitv waits
# for, compared with what the words hold now: a word that differs from
# what the reaper waits for is a wake-up it missed.
import gdb


def ring_state(ring):
    head = int(ring['cq_head'].dereference())
    tail = int(ring['cq_tail'].dereference())
    sq_pending = int(ring['sq_tail'].dereference()) - int(ring['sq_head'].dereference())
    return "cq head %d tail %d, %d SQEs not taken" % (head, tail, sq_pending)


def show():
    try:
        t = gdb.parse_and_eval("'read_now.c'::now.rings")
    except gdb.error as e:
        print("no thread rings here (%s)" % e)
        return
    while int(t) != 0:
        td = t.dereference()
        print("thread ring %s: owed %d, can_owe %d, %s" % (t, int(td['owed']), int(td['can_owe']),
                                                         ring_state(td['ring'])))
        t = td['next']
    o = gdb.parse_and_eval("'read_owed.c'::reaper.rings")
    tails = {}
    while int(o) != 0:
        od = o.dereference()
        tails[int(od['ring']['cq_tail'])] = o
        print("ring owed to the reaper %s: %d reads expected, %s%s%s" % (
            o, int(od['expected']), ring_state(od['ring']),
            ", watched in the reaper's last wait" if int(od['watched']) else "",
            ", its reads found done with no wake-up at the last look" if int(od['unwoken'])
            else ""))
        o = od['next']
    for th in gdb.selected_inferior().threads():
        if th.name != "rtaio-reaper":
            continue
        th.switch()
        f = gdb.newest_frame()
        while f is not None and f.name() != "reaper_thread":
            f = f.older()
        if f is None:
            print("the reaper is not in reaper_thread")
            return
        f.select()
        # the array's live length is optimized out: its first word is the
        # reaper's generation, the others are rings' CQ tails, matched
        # with the rings it holds (entries of rings gone are left over)
        w = gdb.parse_and_eval("w")
        gen = gdb.parse_and_eval("&'read_owed.c'::reaper.gen")
        for i in range(int(w.type.range()[1]) + 1):
            addr = int(w[i]['uaddr'])
            if addr == 0 or (i > 0 and addr not in tails):
                continue
            if i > 0 and addr == int(gen):
                break
            now = int(gdb.parse_and_eval("*(unsigned int *)%d" % addr))
            val = int(w[i]['val'])
            what = "its generation" if i == 0 else "the CQ tail of ring %s" % tails[addr]
            print("the reaper waits on %s for %d; it holds %d%s" % (what, val, now,
                  "" if now == val else "  <- changed: a wake-up missed, or one on its way"))


STATES = {0: "idle", 1: "queued", 2: "running", 3: "done", 4: "canceled"}
FLAGS = ("ordered", "waiting", "started", "cancelling", "partly_read", "held", "unverified",
         "follows_sync", "shared", "owed")


def show_requests():
    try:
        slab = gdb.parse_and_eval("'request.c'::pool.slabs")
    except gdb.error as e:
        print("no request records here (%s)" % e)
        return
    used = 0
    while int(slab) != 0:
        recs = slab.dereference()['r']
        for i in range(int(recs.type.range()[1]) + 1):
            r = recs[i]
            if int(r['refs']) == 0:
                continue
            used += 1
            call = r['call']
            state = int(call['state'])
            print("request %s: aiocb %s, fd %d, op %d, offset %d, call %s (nr %d, class %d, "
                  "bstate %d), blockers %d, refs %d, published %d, fd entry %s; %s" %
                  (r.address, r['cb'], int(r['fildes']), int(r['op']), int(r['offset']),
                   STATES.get(state & 0xf, str(state)), int(call['nr']), int(call['__class']),
                   int(call['__bstate']), int(r['blockers']), int(r['refs']),
                   int(r['published']), r['fd'],
                   " ".join(f for f in FLAGS if int(r[f])) or "no flag"))
        slab = slab.dereference()['next']
    print("%d request records in use" % used)


show()
show_requests()
