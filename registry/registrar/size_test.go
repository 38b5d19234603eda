package registrar_test

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/registrar"
	"github.com/idres/idres/registry/store"
	"github.com/idres/idres/registry/value"
)

// bigVals is n values of size bytes of data each, of type "t".
func bigVals(n, size int) []*idresv1.Value {
	out := make([]*idresv1.Value, n)
	for i := range out {
		out[i] = rval(uint32(i+1), "t", strings.Repeat("x", size))
	}
	return out
}

// TestIdentifierSizeLimitByDefault pins the default bound on an
// identifier's total size (type + data bytes of all its values, 1 MiB):
// 1000 values of 64 KiB each were allowed, 64 MiB in one identifier, more
// than any gRPC client can receive. Every write path refuses more.
func TestIdentifierSizeLimitByDefault(t *testing.T) {
	e := newRenv(t, registrar.Limits{}, nil)
	e.prefix("88.100")
	const kib64 = 64 << 10
	create := func(id string, vals []*idresv1.Value) error {
		_, err := e.reg.CreateIdentifier(e.ctx(e.root), &idresv1.CreateIdentifierRequest{Identifier: id, Values: vals})
		return err
	}
	for _, tc := range []struct {
		name string
		err  error
		want codes.Code
		msg  string // in the refusal: the limit
	}{
		// 15 x (1 + 65536) = 983,055 bytes: under 1 MiB.
		{"create under the limit", create("88.100/ok", bigVals(15, kib64)), codes.OK, ""},
		// 17 x (1 + 65536) = 1,114,129 bytes.
		{"create over the limit", create("88.100/big", bigVals(17, kib64)), codes.InvalidArgument, "limit of 1048576 bytes per identifier"},
		{"update that grows past the limit", func() error {
			_, err := e.reg.UpdateValues(e.ctx(e.root), &idresv1.UpdateValuesRequest{Identifier: "88.100/ok",
				Add: []*idresv1.Value{rval(16, "t", strings.Repeat("y", kib64)), rval(17, "t", strings.Repeat("y", kib64))}})
			return err
		}(), codes.InvalidArgument, "limit of 1048576 bytes per identifier"},
		{"pattern with values over the limit", setPattern(e, "88.100", "LOT-{n:0-9}", bigVals(17, kib64)...), codes.InvalidArgument, "limit of 1048576 bytes per identifier"},
		// "{a}" is 3 bytes of template and up to 64 bytes of capture: 20,000
		// of them expand to 1,280,000 bytes, far more than one value may hold.
		{"pattern whose expansion exceeds a value", setPattern(e, "88.100", "AMP-{a}", rval(1, "t", strings.Repeat("{a}", 20000))), codes.InvalidArgument, "up to 1280000 bytes, more than this node's limit of 65536 bytes per value"},
		{"pattern whose expansion fits", setPattern(e, "88.100", "FIT-{a}", rval(1, "t", strings.Repeat("{a}", 100))), codes.OK, ""},
	} {
		if got := status.Code(tc.err); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, tc.err, tc.want)
			continue
		}
		if !strings.Contains(status.Convert(tc.err).Message(), tc.msg) {
			t.Errorf("%s: message %q does not say %q", tc.name, status.Convert(tc.err).Message(), tc.msg)
		}
	}
}

// TestOversizedRecordMayShrink: a record stored above the limit by older
// code stays writable in the direction of the limit: a change that leaves
// it smaller is accepted, one that grows it is refused.
func TestOversizedRecordMayShrink(t *testing.T) {
	e := newRenv(t, registrar.Limits{}, nil)
	e.prefix("88.100")
	err := e.store.Update(func(tx *store.Tx) error {
		return tx.CreateIdentifier(mustID("88.100/old"), &idresv1.Identifier{Values: bigVals(20, 64<<10)})
	})
	e.must(err)
	_, err = e.reg.UpdateValues(e.ctx(e.root), &idresv1.UpdateValuesRequest{Identifier: "88.100/old", Remove: []uint32{20}})
	if err != nil {
		t.Errorf("removing a value from an oversized record: %v, want OK", err)
	}
	_, err = e.reg.UpdateValues(e.ctx(e.root), &idresv1.UpdateValuesRequest{Identifier: "88.100/old", Add: []*idresv1.Value{rval(30, "t", "more")}})
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("growing an oversized record: %v, want InvalidArgument", err)
	}
}

// TestIdentifierSizeLimitConfigured: the limit is the node's to set
// (idresd --max-identifier-bytes), up to value.MaxSize; patterns are held
// to it at their longest expansion.
func TestIdentifierSizeLimitConfigured(t *testing.T) {
	e := newRenv(t, registrar.Limits{MaxIdentifierBytes: 100}, nil)
	e.prefix("88.100")
	// "t" + 99 bytes = 100: at the limit.
	if _, err := e.reg.CreateIdentifier(e.ctx(e.root), &idresv1.CreateIdentifierRequest{Identifier: "88.100/at", Values: bigVals(1, 99)}); err != nil {
		t.Errorf("at the limit: %v", err)
	}
	_, err := e.reg.CreateIdentifier(e.ctx(e.root), &idresv1.CreateIdentifierRequest{Identifier: "88.100/over", Values: bigVals(2, 50)})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "102 bytes") || !strings.Contains(err.Error(), "limit of 100 bytes") {
		t.Errorf("over the limit: %v, want InvalidArgument naming 102 bytes and the limit of 100", err)
	}
	// A token capture matches up to 64 bytes: "u" + 2 x 64 = 129 > 100.
	if err := setPattern(e, "88.100", "P-{a}", rval(1, "u", "{a}{a}")); status.Code(err) != codes.InvalidArgument {
		t.Errorf("pattern expanding past the limit: %v, want InvalidArgument", err)
	}
	if err := setPattern(e, "88.100", "P-{a}", rval(1, "u", "{a}")); err != nil {
		t.Errorf("pattern within the limit: %v", err)
	}
	for _, bad := range []int{-1, value.MaxSize + 1} {
		if err := registrar.New(e.store, nil).SetLimits(registrar.Limits{MaxIdentifierBytes: bad}); err == nil {
			t.Errorf("identifier size limit %d accepted", bad)
		}
	}
}
