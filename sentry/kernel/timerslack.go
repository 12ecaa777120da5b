package kernel

// Timer slack (prctl(2)'s PR_SET_TIMERSLACK): how much later than asked a
// thread's timed sleeps may end. The sentry's sleeps do not use it; the
// value is kept and reported as Linux does: per thread, 50 µs at first; a
// child starts with its parent's current slack, which is also the default
// that setting 0 restores (copy_process's default_timer_slack_ns).

// defaultTimerSlack is the first task's slack in nanoseconds (init_task's).
const defaultTimerSlack = 50000

// timerSlackOr is a stored slack, where 0 (the zero Task) stands for
// defaultTimerSlack.
func timerSlackOr(ns uint64) uint64 {
	if ns == 0 {
		return defaultTimerSlack
	}
	return ns
}

// TimerSlack is the thread's timer slack in nanoseconds (PR_GET_TIMERSLACK).
func (t *Task) TimerSlack() uint64 { return timerSlackOr(t.timerSlack.Load()) }

// SetTimerSlack sets the thread's timer slack (PR_SET_TIMERSLACK); 0
// restores its default.
func (t *Task) SetTimerSlack(ns uint64) {
	if ns == 0 {
		ns = timerSlackOr(t.defaultSlack.Load())
	}
	t.timerSlack.Store(ns)
}

// inheritTimerSlack gives a new thread or process its parent's slack, as
// both its current value and its default.
func (c *Task) inheritTimerSlack(parent *Task) {
	s := parent.TimerSlack()
	c.timerSlack.Store(s)
	c.defaultSlack.Store(s)
}
