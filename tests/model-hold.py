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
        print("ring owed to the reaper %s: %d reads expected, %s" % (o, int(od['expected']),
                                                                     ring_state(od['ring'])))
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


show()
