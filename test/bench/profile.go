package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
)

// startProfile writes a CPU profile of one phase, and a heap (allocation)
// profile when it ends, to $BENCH_PROFILE_DIR/<name>.{cpu,alloc}.pprof. The
// hub runs in this process, so the profiles show carehub's own work next to
// the embedded NATS server's. Without BENCH_PROFILE_DIR it does nothing.
func startProfile(name string) (stop func(), err error) {
	dir := os.Getenv("BENCH_PROFILE_DIR")
	if dir == "" {
		return func() {}, nil
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	cpu, err := os.Create(filepath.Join(dir, name+".cpu.pprof"))
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(cpu); err != nil {
		_ = cpu.Close()
		return nil, fmt.Errorf("starting CPU profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		_ = cpu.Close()
		runtime.GC()
		if f, err := os.Create(filepath.Join(dir, name+".alloc.pprof")); err == nil {
			_ = pprof.Lookup("allocs").WriteTo(f, 0)
			_ = f.Close()
		}
		fmt.Fprintf(os.Stderr, "bench: profiles of %s in %s\n", name, dir)
	}, nil
}
