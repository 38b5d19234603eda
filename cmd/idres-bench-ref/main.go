// Command idres-bench-ref is the reference side of `make bench`: what idres
// is measured against on the same machine in the same run. It is a
// benchmark tool, not part of a deployment.
//
//	idres-bench-ref grpc ADDR          a bare grpc-go Resolver answering one fixed message
//	                                   (the gRPC stack's ceiling for unary Resolve)
//	idres-bench-ref bbolt DIR FILE     writes FILE's records (JSONL or CSV) straight into a
//	                                   fresh bbolt file in DIR, in batches sorted by key, one
//	                                   fsynced transaction each (the storage ceiling of import)
//	idres-bench-ref run [flags]        the whole of `make bench`: starts the servers, runs the
//	                                   loads side by side, writes cmd/idres-bench-ref/results/results.md and its SVG
//	idres-bench-ref scale N=DIR N=DIR  unary Resolve latency on the stores two runs of different N
//	                                   left in their work directories, alternating, at the same rate
//
// Each prints one JSON line of results (bbolt) or serves until killed (grpc).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/bulkfile"
	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/registry/value"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "grpc":
		err = serveFixed(os.Args[2:])
	case "bbolt":
		err = rawBolt(os.Args[2:])
	case "run":
		err = runBench(os.Args[2:])
	case "scale":
		err = scaleCompare(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "idres-bench-ref: %v\n", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: idres-bench-ref grpc ADDR | bbolt [--batch N] [--sort-window N] [--limit N] DIR FILE | run [flags] | scale [flags] N=WORKDIR N=WORKDIR")
	os.Exit(2)
}

// fixedResolver answers every Resolve with the same prebuilt answer, the
// shape of a real OK answer with the bench data set's four values.
type fixedResolver struct {
	idresv1.UnimplementedResolverServer
	resp *idresv1.ResolveResponse
}

func (f *fixedResolver) Resolve(context.Context, *idresv1.ResolveRequest) (*idresv1.ResolveResponse, error) {
	return f.resp, nil
}

func serveFixed(args []string) error {
	if len(args) != 1 {
		usage()
	}
	ttl, pub := uint32(86400), true
	ts := timestamppb.Now()
	val := func(i uint32, typ, data string) *idresv1.Value {
		return &idresv1.Value{Index: i, Type: typ, Data: []byte(data), Ttl: &ttl, PublicRead: &pub, Timestamp: ts}
	}
	resp := &idresv1.ResolveResponse{
		Outcome: idresv1.Outcome_OUTCOME_OK, Identifier: "88.100/item-123456", Authoritative: true, Ttl: ttl, Zone: "88.100",
		Values: []*idresv1.Value{
			val(1, "URL", "https://products.example.com/p/00123456"),
			val(2, "manufacturer", "Example Manufacturing Co., Ltd."),
			val(3, "batch", "B-000123"),
			val(4, "production_date", "2026-01-05"),
		},
	}
	lis, err := net.Listen("tcp", args[0])
	if err != nil {
		return err
	}
	srv := grpc.NewServer()
	idresv1.RegisterResolverServer(srv, &fixedResolver{resp: resp})
	fmt.Fprintf(os.Stderr, "idres-bench-ref: fixed gRPC Resolver on %s\n", lis.Addr())
	return srv.Serve(lis)
}

type rec struct {
	key []byte
	val []byte
}

// rawBolt is the storage ceiling: the same records the node would store
// (same encoding, timestamps included), the same batches sorted the same
// way, and nothing else: no gRPC, no checks, no audit.
func rawBolt(args []string) error {
	fs := flag.NewFlagSet("bbolt", flag.ExitOnError)
	batch := fs.Int("batch", 10000, "records per transaction")
	window := fs.Int("sort-window", 0, "sort each run of this many records by key before batching, as idres import does (0: only each batch)")
	fill := fs.Float64("fill", 0, "bucket FillPercent (0: bbolt's default)")
	limit := fs.Int("limit", 0, "write only the first N records of FILE (0: all)")
	fs.Parse(args)
	if fs.NArg() != 2 {
		usage()
	}
	dir, file := fs.Arg(0), fs.Arg(1)
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	rd, err := bulkfile.NewReader(f, bulkfile.FormatOf(file))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	path := filepath.Join(dir, "raw.db")
	os.Remove(path)
	// The node's file options (registry/store), so the ceiling is not
	// lowered by remaps or growth the node avoids.
	db, err := bolt.Open(path, 0o600, &bolt.Options{FreelistType: bolt.FreelistMapType, InitialMmapSize: 1 << 30})
	if err != nil {
		return err
	}
	db.AllocSize = 128 << 20
	defer db.Close()
	name := []byte("identifiers")
	if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket(name); return err }); err != nil {
		return err
	}
	byKey := func(x, y rec) int { return bytes.Compare(x.key, y.key) }
	// Records are read and encoded a sort window (or a batch) at a time,
	// outside the timed part: the ceiling is bbolt's, not the parser's, and
	// memory holds one window however large the file.
	chunk := *batch
	if *window > 0 {
		chunk = (*window + *batch - 1) / *batch * *batch // whole batches
	}
	ts := timestamppb.Now()
	var el time.Duration
	total := 0
	for {
		want := chunk
		if *limit > 0 {
			want = min(want, *limit-total)
		}
		recs, err := readRecs(rd, want, ts)
		if err != nil {
			return err
		}
		if len(recs) == 0 {
			break
		}
		total += len(recs)
		start := time.Now()
		for i := 0; *window > 0 && i < len(recs); i += *window {
			slices.SortStableFunc(recs[i:min(i+*window, len(recs))], byKey)
		}
		for i := 0; i < len(recs); i += *batch {
			b := recs[i:min(i+*batch, len(recs))]
			slices.SortStableFunc(b, byKey)
			err := db.Update(func(tx *bolt.Tx) error {
				bk := tx.Bucket(name)
				if *fill > 0 {
					bk.FillPercent = *fill
				}
				for _, r := range b {
					if err := bk.Put(r.key, r.val); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		el += time.Since(start)
	}
	out, _ := json.Marshal(map[string]any{
		"mode": "bbolt", "records": total, "batch": *batch, "sort_window": *window, "fill": *fill, "seconds": el.Seconds(),
		"per_second": float64(total) / el.Seconds(),
	})
	fmt.Println(string(out))
	return nil
}

// readRecs reads up to n records and encodes them as the node stores
// them (same encoding, timestamps included).
func readRecs(rd bulkfile.Reader, n int, ts *timestamppb.Timestamp) ([]rec, error) {
	var recs []rec
	for len(recs) < n {
		it, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		id, err := ident.Parse(it.Identifier)
		if err != nil {
			return nil, err
		}
		value.Normalize(it.Values)
		for _, v := range it.Values {
			v.Timestamp = ts
		}
		r := &idresv1.Identifier{Identifier: id.String(), Values: it.Values, Created: ts, Updated: ts}
		raw, err := proto.MarshalOptions{Deterministic: true}.Marshal(r)
		if err != nil {
			return nil, err
		}
		recs = append(recs, rec{key: []byte(id.Key()), val: raw})
	}
	return recs, nil
}
