package core

import (
	"os"
	"os/signal"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// signalCatcher catches the signals a run forwards to its container.
// Installing a handler takes 30-90 us per signal (the runtime's signal
// thread acknowledges each), so it is done on a goroutine, while crun
// goes on: the signals whose default action would end crun first
// (notified), then SIGWINCH and SIGCONT (all).
type signalCatcher struct {
	ch            chan os.Signal
	notified, all chan struct{}
}

func startCatching() *signalCatcher {
	c := &signalCatcher{ch: make(chan os.Signal, 16), notified: make(chan struct{}), all: make(chan struct{})}
	go func() {
		signal.Notify(c.ch, fatalSignals...)
		close(c.notified)
		signal.Notify(c.ch, ForwardedSignals...)
		close(c.all)
	}()
	return c
}

// stop stops catching, without waiting for it: signal.Stop waits for the
// runtime's signal loop to go idle, up to half a millisecond that a crun
// about to exit need not spend. A signal caught meanwhile is dropped.
func (c *signalCatcher) stop() {
	go func() {
		<-c.all
		signal.Stop(c.ch)
	}()
}

// early is the catcher CatchSignalsEarly started, until a run takes it
// or ReleaseSignals ends it.
var early struct {
	sync.Mutex
	c *signalCatcher
}

// CatchSignalsEarly starts catching the forwarded signals as soon as crun
// starts (main calls it first): a shim's SIGTERM that comes while crun
// parses its flags or prepares the plan must end crun with 128+N, after
// it has cleaned up, not kill it by the signal. What comes earlier still
// (before main, during the Go runtime's start-up) ends crun by the
// signal; crun has changed nothing by then.
func CatchSignalsEarly() {
	early.Lock()
	defer early.Unlock()
	if early.c == nil {
		early.c = startCatching()
	}
}

// takeSignals returns the early catcher for a run, or starts one.
func takeSignals() *signalCatcher {
	early.Lock()
	defer early.Unlock()
	c := early.c
	early.c = nil
	if c == nil {
		c = startCatching()
	}
	return c
}

// ReleaseSignals gives the signals back their usual effect, for a command
// that is not a run (crun rootfs import, say, which Ctrl-C must stop). A
// signal caught meanwhile that would have ended crun ends it now, by the
// same signal.
func ReleaseSignals() {
	early.Lock()
	c := early.c
	early.c = nil
	early.Unlock()
	if c == nil {
		return
	}
	<-c.all
	signal.Stop(c.ch)
	for {
		select {
		case sig := <-c.ch:
			for _, fatal := range fatalSignals {
				if sig == fatal {
					signal.Reset(sig)
					unix.Kill(os.Getpid(), sig.(unix.Signal))
					time.Sleep(time.Second) // the signal is on its way
					os.Exit(128 + int(sig.(unix.Signal)))
				}
			}
		default:
			return
		}
	}
}
