package hostinfo

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ErrNoNVIDIAGPU means neither the NVIDIA proc files nor nvidia-smi exist: the normal case on a
// machine without an NVIDIA GPU, not a fault.
var ErrNoNVIDIAGPU = errors.New("no NVIDIA GPU found")

// NvidiaSMITimeout bounds the nvidia-smi call, which can hang on a wedged driver.
const NvidiaSMITimeout = 5 * time.Second

var nvidiaSMIArgs = []string{"--query-gpu=memory.total", "--format=csv,noheader,nounits"}

// Prober finds the total VRAM over all NVIDIA GPUs. The zero value probes the real machine.
type Prober struct {
	// ProcRoot is where /proc is mounted; "" means "/proc".
	ProcRoot string
	// NvidiaSMI runs `nvidia-smi --query-gpu=memory.total --format=csv,noheader,nounits`;
	// nil runs the real binary from PATH.
	NvidiaSMI func(ctx context.Context) ([]byte, error)
	// Logger gets warnings about odd driver output (category "hostinfo"); nil means slog.Default().
	Logger *slog.Logger
}

func (p Prober) logger() *slog.Logger {
	l := p.Logger
	if l == nil {
		l = slog.Default()
	}
	return l.With("category", "hostinfo")
}

// VRAMTotalGb sums "Video Memory" from /proc/driver/nvidia/gpus/*/information, or else the
// memory.total column of nvidia-smi (MiB), and returns GB (MB/1024). It returns 0 with
// ErrNoNVIDIAGPU when there is no NVIDIA GPU, and 0 with another error when one seems present
// but its size could not be read.
func (p Prober) VRAMTotalGb(ctx context.Context) (float64, error) {
	log := p.logger()
	if mb := p.procVideoMemoryMB(log); mb > 0 {
		return mb / 1024, nil
	}
	smi := p.NvidiaSMI
	if smi == nil {
		smi = runNvidiaSMI
	}
	ctx, cancel := context.WithTimeout(ctx, NvidiaSMITimeout)
	defer cancel()
	out, err := smi(ctx)
	if err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return 0, fmt.Errorf("hostinfo: %w (no NVIDIA proc entries, nvidia-smi not installed)", ErrNoNVIDIAGPU)
		}
		return 0, fmt.Errorf("hostinfo: nvidia-smi: %w", err)
	}
	mib, lines := parseNvidiaSMI(out, log)
	switch {
	case mib > 0:
		return mib / 1024, nil
	case lines == 0:
		return 0, fmt.Errorf("hostinfo: %w (nvidia-smi listed no GPUs)", ErrNoNVIDIAGPU)
	default:
		return 0, errors.New("hostinfo: nvidia-smi reported no usable memory size")
	}
}

func runNvidiaSMI(ctx context.Context) ([]byte, error) {
	return exec.CommandContext(ctx, "nvidia-smi", nvidiaSMIArgs...).Output()
}

// procVideoMemoryMB sums the Video Memory lines of the driver's per-GPU information files.
// Current drivers often omit the line; then the total is 0 and nvidia-smi is asked instead.
func (p Prober) procVideoMemoryMB(log *slog.Logger) float64 {
	root := p.ProcRoot
	if root == "" {
		root = "/proc"
	}
	files, _ := filepath.Glob(filepath.Join(root, "driver", "nvidia", "gpus", "*", "information"))
	total := 0.0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			log.Warn("cannot read NVIDIA GPU information", "file", f, "err", err)
			continue
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "Video Memory:")
			if !ok {
				continue
			}
			mb, err := parseMemory(rest)
			if err != nil {
				log.Warn("unexpected Video Memory line", "file", f, "err", err)
				continue
			}
			total += mb
		}
	}
	return total
}

// parseMemory reads "8192 MB" (unit optional, MB assumed) into MB.
func parseMemory(s string) (float64, error) {
	fields := strings.Fields(s)
	if len(fields) == 0 || len(fields) > 2 {
		return 0, fmt.Errorf("want \"<n> MB\", got %q", strings.TrimSpace(s))
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("want \"<n> MB\", got %q", strings.TrimSpace(s))
	}
	unit := "MB"
	if len(fields) == 2 {
		unit = strings.ToUpper(fields[1])
	}
	switch unit {
	case "KB", "KIB":
		return v / 1024, nil
	case "MB", "MIB":
		return v, nil
	case "GB", "GIB":
		return v * 1024, nil
	}
	return 0, fmt.Errorf("unknown unit %q", unit)
}

// parseNvidiaSMI sums one MiB value per line; lines counts the GPUs listed (including [N/A]).
func parseNvidiaSMI(out []byte, log *slog.Logger) (mib float64, lines int) {
	sc := bufio.NewScanner(bytes.NewReader(out))
	gpu := -1
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		gpu++
		lines++
		if strings.EqualFold(line, "[N/A]") {
			log.Warn("nvidia-smi reports no memory size for a GPU; leaving it out of the VRAM total", "gpu", gpu)
			continue
		}
		v, err := strconv.ParseFloat(line, 64)
		if err != nil || v < 0 {
			log.Warn("unexpected nvidia-smi output line; leaving it out of the VRAM total", "gpu", gpu, "line", line)
			continue
		}
		mib += v
	}
	return mib, lines
}

var (
	vramOnce  sync.Once
	vramTotal float64
)

// VRAMTotalGb probes the machine once per process (later calls return the first answer) and
// returns 0 when the size is unknown, logging why.
func VRAMTotalGb() float64 {
	vramOnce.Do(func() { vramTotal = Prober{}.totalLogged(context.Background()) })
	return vramTotal
}

func (p Prober) totalLogged(ctx context.Context) float64 {
	v, err := p.VRAMTotalGb(ctx)
	log := p.logger()
	switch {
	case errors.Is(err, ErrNoNVIDIAGPU):
		log.Debug("VRAM unknown: "+ErrNoNVIDIAGPU.Error(), "err", err)
	case err != nil:
		log.Warn("VRAM unknown; reporting 0", "err", err)
	default:
		log.Info("VRAM detected", "total_gb", v)
	}
	return v
}
