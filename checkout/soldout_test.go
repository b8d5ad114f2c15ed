package checkout_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dropcast/dropcast/apperr"
	"github.com/dropcast/dropcast/checkout"
)

func requireCode(t *testing.T, err error, code string) {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, code, apperr.CodeOf(err), "%v", err)
}

// soldOutEnv is a variant of one unit that shopper a holds, and that
// PostgreSQL has just answered sold_out to shopper b.
func soldOutEnv(t *testing.T) (*env, int64) {
	t.Helper()
	e := newEnv(t, 0, []int{1}, nil)
	v := e.fx.Variants[0].ID
	_, err := e.add(t, "a", v, 1, 0)
	require.NoError(t, err)
	_, err = e.add(t, "b", v, 1, 0)
	requireCode(t, err, checkout.CodeSoldOut)
	return e, v
}

// Once PostgreSQL finds a variant with none left, the rest of a rush is
// answered sold_out from memory for a second: a unit another process puts
// back (written here straight to the database) is seen once that lapses.
func TestSoldOutAnsweredFromMemoryForASecond(t *testing.T) {
	e, v := soldOutEnv(t)

	_, err := e.pool.Exec(t.Context(), `UPDATE stock SET available = available + 1 WHERE variant_id = $1 AND shard = 0`, v)
	require.NoError(t, err)
	_, err = e.add(t, "c", v, 1, 0)
	requireCode(t, err, checkout.CodeSoldOut) // not asked: within the second
	require.Equal(t, 1, e.available(t, v), "a refusal from memory takes nothing")

	e.clock.Advance(time.Second)
	_, err = e.add(t, "c", v, 1, 0)
	require.NoError(t, err, "after the second PostgreSQL is asked again")
	require.Equal(t, 0, e.available(t, v))
}

// A unit this process gives back (a shopper removing it) is on sale at once.
func TestSoldOutClearedByARelease(t *testing.T) {
	e, v := soldOutEnv(t)
	_, err := e.svc.Remove(t.Context(), "a", e.fx.Drop.ID, v, 1)
	require.NoError(t, err)
	_, err = e.add(t, "b", v, 1, 0)
	require.NoError(t, err)
}

// Asking for more than is left is sold_out for that quantity only: one
// unit left is still on sale.
func TestSoldOutForAQuantityIsNotRemembered(t *testing.T) {
	e := newEnv(t, 0, []int{1}, nil)
	v := e.fx.Variants[0].ID
	_, err := e.add(t, "a", v, 2, 0)
	requireCode(t, err, checkout.CodeSoldOut)
	_, err = e.add(t, "a", v, 1, 0)
	require.NoError(t, err)
}
