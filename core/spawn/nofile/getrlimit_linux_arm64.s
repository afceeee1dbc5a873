#include "textflag.h"

// func getrlimit(lim *[2]uint64) int64
TEXT ·getrlimit(SB),NOSPLIT,$0-16
	MOVD	$0, R0	// this process
	MOVD	$7, R1	// RLIMIT_NOFILE
	MOVD	$0, R2	// no new limit
	MOVD	lim+0(FP), R3
	MOVD	$261, R8	// prlimit64
	SVC
	MOVD	R0, ret+8(FP)
	RET
