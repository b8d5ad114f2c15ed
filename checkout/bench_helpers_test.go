package checkout_test

import (
	"os"
	"runtime"
	"strconv"

	"github.com/dropcast/dropcast/catalog"
)

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }

func catalogStock(n int) catalog.VariantPatch { return catalog.VariantPatch{Stock: &n} }

// benchPool is the connection pool size of the benchmarks: BENCH_POOL, or 16.
func benchPool() int {
	if n, err := strconv.Atoi(os.Getenv("BENCH_POOL")); err == nil && n > 0 {
		return n
	}
	return 16
}
