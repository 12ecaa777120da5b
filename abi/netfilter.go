package abi

import "gvisor.dev/gvisor/pkg/abi/linux"

// XTCountersInfo is struct xt_counters_info, IPT_SO_SET_ADD_COUNTERS's
// header: a table's name and the number of struct xt_counters after it.
type XTCountersInfo struct {
	Name        linux.TableName
	NumCounters uint32
	_           uint32 // the counters that follow are 8-aligned
}

// SizeOfXTCountersInfo is sizeof(struct xt_counters_info).
const SizeOfXTCountersInfo = 40

// XTStateInfo is struct xt_state_info, the "state" match's payload: the
// XT_STATE_BIT mask of the states it matches.
type XTStateInfo struct {
	StateMask uint32
}

// SizeOfXTStateInfo is sizeof(struct xt_state_info).
const SizeOfXTStateInfo = 4
