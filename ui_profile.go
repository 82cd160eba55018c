//go:build !headless

package main

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
)

// startProfile starts the profiles asked for by profileEnv; the returned
// func writes them out. Failures only cost the profile, never the run.
func startProfile(log *slog.Logger) (stop func()) {
	dir := os.Getenv(profileEnv)
	if dir == "" {
		return func() {}
	}
	cpu, err := os.Create(filepath.Join(dir, "cpu.pprof"))
	if err == nil {
		err = pprof.StartCPUProfile(cpu)
	}
	if err != nil {
		log.Warn("cpu profile not started", "category", "ui", "error", err.Error())
	}
	return func() {
		if cpu != nil {
			pprof.StopCPUProfile()
			cpu.Close()
		}
		heap, err := os.Create(filepath.Join(dir, "heap.pprof"))
		if err == nil {
			runtime.GC()
			err = errors.Join(pprof.WriteHeapProfile(heap), heap.Close())
		}
		if err != nil {
			log.Warn("heap profile not written", "category", "ui", "error", err.Error())
		}
	}
}
