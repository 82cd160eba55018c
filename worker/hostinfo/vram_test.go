package hostinfo

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

type logBuf struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuf) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newLogger(b *logBuf) *slog.Logger {
	return slog.New(slog.NewJSONHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// fakeProc builds <root>/driver/nvidia/gpus/<bus>/information files.
func fakeProc(t *testing.T, gpus map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for bus, content := range gpus {
		dir := filepath.Join(root, "driver", "nvidia", "gpus", bus)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "information"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

const infoHeader = "Model: \t\t NVIDIA GeForce RTX 3070\nIRQ:   \t\t 130\nGPU UUID: \t GPU-0000\n"

func smiOut(out string) func(context.Context) ([]byte, error) {
	return func(context.Context) ([]byte, error) { return []byte(out), nil }
}

func smiErr(err error) func(context.Context) ([]byte, error) {
	return func(context.Context) ([]byte, error) { return nil, err }
}

func TestProberVRAMTotalGb(t *testing.T) {
	t.Parallel()
	notFound := &exec.Error{Name: "nvidia-smi", Err: exec.ErrNotFound}
	tests := []struct {
		name     string
		proc     map[string]string
		smi      func(context.Context) ([]byte, error) // nil: must not be called
		want     float64
		noGPU    bool   // want ErrNoNVIDIAGPU
		wantErr  bool   // want another error
		wantWarn string // substring of a warn log line
	}{
		{
			name: "proc two gpus",
			proc: map[string]string{
				"0000:01:00.0": infoHeader + "Video Memory: \t 8192 MB\n",
				"0000:02:00.0": infoHeader + "Video Memory:  4096 MB\n",
			},
			want: 12,
		},
		{name: "proc GB unit", proc: map[string]string{"0000:01:00.0": "Video Memory: 24 GB\n"}, want: 24},
		{name: "proc no unit", proc: map[string]string{"0000:01:00.0": "Video Memory: 2048\n"}, want: 2},
		{
			name: "proc without video memory falls back",
			proc: map[string]string{"0000:01:00.0": infoHeader},
			smi:  smiOut("8192\n"), want: 8,
		},
		{
			name: "proc malformed falls back",
			proc: map[string]string{"0000:01:00.0": "Video Memory: lots\n"},
			smi:  smiOut("6144\n"), want: 6, wantWarn: "unexpected Video Memory line",
		},
		{name: "smi sums gpus", smi: smiOut("24576\n12288\n"), want: 36},
		{name: "smi crlf", smi: smiOut("8192\r\n"), want: 8},
		{name: "smi skips N/A", smi: smiOut("[N/A]\n8192\n"), want: 8, wantWarn: "no memory size"},
		{name: "smi only N/A", smi: smiOut("[N/A]\n"), wantErr: true, wantWarn: "no memory size"},
		{name: "smi garbage", smi: smiOut("NVIDIA-SMI has failed\n"), wantErr: true, wantWarn: "unexpected nvidia-smi output"},
		{name: "smi not installed", smi: smiErr(notFound), noGPU: true},
		{name: "smi lists nothing", smi: smiOut(""), noGPU: true},
		{name: "smi fails", smi: smiErr(errors.New("exit status 9")), wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var logs logBuf
			smiCalled := false
			p := Prober{ProcRoot: fakeProc(t, tc.proc), Logger: newLogger(&logs)}
			p.NvidiaSMI = func(ctx context.Context) ([]byte, error) {
				smiCalled = true
				if tc.smi == nil {
					t.Error("nvidia-smi run although /proc had the answer")
					return nil, errors.New("unexpected")
				}
				dl, ok := ctx.Deadline()
				if !ok || time.Until(dl) > NvidiaSMITimeout {
					t.Errorf("nvidia-smi context deadline = %v, %v; want within %v", dl, ok, NvidiaSMITimeout)
				}
				return tc.smi(ctx)
			}
			got, err := p.VRAMTotalGb(context.Background())
			if got != tc.want {
				t.Errorf("VRAMTotalGb = %v, want %v", got, tc.want)
			}
			switch {
			case tc.noGPU:
				if !errors.Is(err, ErrNoNVIDIAGPU) {
					t.Errorf("err = %v, want ErrNoNVIDIAGPU", err)
				}
			case tc.wantErr:
				if err == nil || errors.Is(err, ErrNoNVIDIAGPU) {
					t.Errorf("err = %v, want a non-ErrNoNVIDIAGPU error", err)
				}
			default:
				if err != nil {
					t.Errorf("err = %v", err)
				}
			}
			if tc.smi != nil && !smiCalled {
				t.Error("nvidia-smi not consulted")
			}
			out := logs.String()
			if tc.wantWarn != "" {
				if !strings.Contains(out, tc.wantWarn) || !strings.Contains(out, `"level":"WARN"`) ||
					!strings.Contains(out, `"category":"hostinfo"`) {
					t.Errorf("want a hostinfo warning containing %q, logs:\n%s", tc.wantWarn, out)
				}
			} else if out != "" {
				t.Errorf("unexpected logs:\n%s", out)
			}
		})
	}
}

func TestProberMissingProcRoot(t *testing.T) {
	t.Parallel()
	p := Prober{ProcRoot: filepath.Join(t.TempDir(), "absent"), NvidiaSMI: smiOut("1024\n"), Logger: newLogger(&logBuf{})}
	if got, err := p.VRAMTotalGb(context.Background()); got != 1 || err != nil {
		t.Errorf("VRAMTotalGb = %v, %v", got, err)
	}
}

func TestTotalLoggedSaysWhy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		smi       func(context.Context) ([]byte, error)
		want      float64
		level     string
		substring string
	}{
		{"no gpu is debug", smiErr(&exec.Error{Name: "nvidia-smi", Err: exec.ErrNotFound}), 0, "DEBUG", "no NVIDIA GPU found"},
		{"failure is warn", smiErr(errors.New("driver wedged")), 0, "WARN", "driver wedged"},
		{"found is info", smiOut("4096\n"), 4, "INFO", "VRAM detected"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var logs logBuf
			p := Prober{ProcRoot: t.TempDir(), NvidiaSMI: tc.smi, Logger: newLogger(&logs)}
			if got := p.totalLogged(context.Background()); got != tc.want {
				t.Errorf("totalLogged = %v, want %v", got, tc.want)
			}
			out := logs.String()
			if !strings.Contains(out, `"level":"`+tc.level+`"`) || !strings.Contains(out, tc.substring) ||
				!strings.Contains(out, `"category":"hostinfo"`) {
				t.Errorf("want %s log with %q, got:\n%s", tc.level, tc.substring, out)
			}
		})
	}
}

func TestVRAMTotalGbOnce(t *testing.T) {
	t.Parallel()
	// The real machine: whatever it reports, it is not negative and does not change.
	first := VRAMTotalGb()
	if first < 0 {
		t.Fatalf("VRAMTotalGb = %v", first)
	}
	if again := VRAMTotalGb(); again != first {
		t.Errorf("second call = %v, first = %v", again, first)
	}
}
