package runtime

import (
	"os"
	"testing"
	"time"
)

// BenchmarkStartTrue is the start path the project measures against
// `crun run` (about 7 ms here): Start and Wait of busybox's true, with
// Docker's default security and network none. The container's directories
// are reused from one run to the next, as by docker start.
func BenchmarkStartTrue(b *testing.B) {
	spec := newSpec(b, "true")
	if _, err := sealedExe(); err != nil { // made once per process
		b.Fatal(err)
	}
	ctx := testContext(b)
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		task, err := Start(ctx, spec, Stdio{}, Hooks{})
		if err != nil {
			b.Fatal(err)
		}
		if st, err := task.Wait(); err != nil || st.Code != 0 {
			b.Fatalf("Wait: %+v, %v", st, err)
		}
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(b.N), "ms/op")
}

// BenchmarkSealExe measures what each way of sealing the binary costs, once
// per process (sealedExe caches it).
func BenchmarkSealExe(b *testing.B) {
	for name, seal := range map[string]func() (*os.File, error){"overlayfs": overlayExe, "memfd": memfdExe} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				f, err := seal()
				if err != nil {
					b.Fatal(err)
				}
				f.Close()
			}
		})
	}
}
