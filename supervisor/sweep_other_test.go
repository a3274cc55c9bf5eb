//go:build unix && !linux

package supervisor

func sweepCgroups() {}

func runAdoptingParent() int { return 1 } // adopting orphans is Linux only

func waitListed(*Process, int) {}
