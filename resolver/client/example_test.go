package client_test

import (
	"context"
	"fmt"
	"log"
	"strings"
	"time"

	"google.golang.org/grpc/status"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/bulkfile"
	"github.com/idres/idres/resolver/client"
)

// Register a prefix and an identifier, then resolve it as anyone may:
// the Registry needs the token, the Resolver does not.
func Example() {
	node, err := startNode(nodeOptions{}) // a real node on 127.0.0.1
	if err != nil {
		log.Fatal(err)
	}
	defer node.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	admin, err := client.Dial(node.Addr, client.Options{Token: node.Admin})
	if err != nil {
		log.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.CreatePrefix(ctx, &idresv1.CreatePrefixRequest{Prefix: &idresv1.Prefix{Prefix: "88.100.1"}}); err != nil {
		log.Fatal(err)
	}
	if _, err := admin.CreateIdentifier(ctx, &idresv1.CreateIdentifierRequest{
		Identifier: "88.100.1/PUMP-0042",
		Values:     []*idresv1.Value{{Index: 1, Type: "URL", Data: []byte("https://plant.example.com/pumps/42")}},
	}); err != nil {
		log.Fatal(err)
	}

	anyone, err := client.Dial(node.Addr, client.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer anyone.Close()
	resp, err := anyone.Resolve(ctx, &idresv1.ResolveRequest{Identifier: "88.100.1/PUMP-0042"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.GetOutcome())
	for _, v := range resp.GetValues() {
		fmt.Println(v.GetIndex(), v.GetType(), string(v.GetData()))
	}
	// Output:
	// OUTCOME_OK
	// 1 URL https://plant.example.com/pumps/42
}

// Bulk-load identifiers from JSON lines as `idres import` does: sorted by
// key in runs, framed in messages, committed in batches by the node. A
// bad line is reported and counted; it does not stop the import.
func ExampleClient_ImportFrom() {
	node, err := startNode(nodeOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer node.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(node.Addr, client.Options{Token: node.Admin})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	if _, err := c.CreatePrefix(ctx, &idresv1.CreatePrefixRequest{Prefix: &idresv1.Prefix{Prefix: "88.100.1"}}); err != nil {
		log.Fatal(err)
	}

	file := `{"identifier":"88.100.1/VALVE-7","values":[{"index":1,"type":"URL","data":"https://plant.example.com/valves/7"}]}
{"identifier":"88.100.1/PUMP-0042","values":[{"index":1,"type":"URL","data":"https://plant.example.com/pumps/42"}]}
not json
`
	rd, err := bulkfile.NewReader(strings.NewReader(file), bulkfile.JSONL)
	if err != nil {
		log.Fatal(err)
	}
	tot, err := c.ImportFrom(ctx, rd, client.ImportOptions{
		Batch:      10000,
		SortWindow: client.DefaultSortWindow,
		Failed: func(ie *idresv1.ImportError) {
			fmt.Printf("line %d: %s\n", ie.GetSequence(), ie.GetCode())
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d read, %d created, %d failed\n", tot.Read, tot.Created, tot.Failed)
	// Output:
	// line 3: InvalidArgument
	// 3 read, 2 created, 1 failed
}

// Without a token every service but the Resolver answers Unauthenticated:
// a node is closed by default.
func ExampleDial_unauthenticated() {
	node, err := startNode(nodeOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer node.Stop()
	c, err := client.Dial(node.Addr, client.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = c.FlushCache(ctx, &idresv1.FlushCacheRequest{})
	fmt.Println(status.Code(err))
	// Output: Unauthenticated
}
