package runner

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"gopkg.in/yaml.v3"

	// The idres.v1 descriptors must be registered for method lookup.
	_ "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/resolver/client"
)

// apiPackage is the protobuf package whose unary methods cases may call
// by their short name.
const apiPackage = "idres.v1"

var (
	methodsOnce sync.Once
	methods     map[string]protoreflect.MethodDescriptor // short name -> method; nil entry: ambiguous
)

func loadMethods() {
	methods = map[string]protoreflect.MethodDescriptor{}
	protoregistry.GlobalFiles.RangeFilesByPackage(apiPackage, func(fd protoreflect.FileDescriptor) bool {
		svcs := fd.Services()
		for i := 0; i < svcs.Len(); i++ {
			ms := svcs.Get(i).Methods()
			for j := 0; j < ms.Len(); j++ {
				m := ms.Get(j)
				name := string(m.Name())
				if _, dup := methods[name]; dup {
					methods[name] = nil
				} else {
					methods[name] = m
				}
			}
		}
		return true
	})
}

func lookupMethod(name string) (protoreflect.MethodDescriptor, error) {
	methodsOnce.Do(loadMethods)
	m, ok := methods[name]
	switch {
	case !ok:
		return nil, fmt.Errorf("no method %q in package %s", name, apiPackage)
	case m == nil:
		return nil, fmt.Errorf("method name %q is ambiguous in package %s", name, apiPackage)
	}
	return m, nil
}

// isMethodName reports whether name could be a method's short name; the
// loader then reports unknown ones rather than calling them unknown keys.
func isMethodName(name string) bool {
	return name != "" && name[0] >= 'A' && name[0] <= 'Z'
}

func fullMethod(m protoreflect.MethodDescriptor) string {
	return "/" + string(m.Parent().FullName()) + "/" + string(m.Name())
}

func newMessage(d protoreflect.MessageDescriptor) (proto.Message, error) {
	mt, err := protoregistry.GlobalTypes.FindMessageByName(d.FullName())
	if err != nil {
		return nil, fmt.Errorf("message type %s: %w", d.FullName(), err)
	}
	return mt.New().Interface(), nil
}

// requestJSON renders a request tree as protojson input: a "data" (or a
// SearchRequest's "value") given as text is base64-encoded, {base64: ...}
// is passed as is.
func requestJSON(tree any) ([]byte, error) {
	conv, err := convertData(tree)
	if err != nil {
		return nil, err
	}
	return json.Marshal(conv)
}

func convertData(t any) (any, error) {
	switch v := t.(type) {
	case map[string]any:
		if n, ok := v["$repeat"]; ok {
			list, err := repeatItems(n, v["item"])
			if err != nil {
				return nil, err
			}
			return convertData(list)
		}
		out := make(map[string]any, len(v))
		for k, x := range v {
			if k == "data" || (k == "value" && isData(x)) { // Value.data, SearchRequest.value
				d, err := dataBytes(x)
				if err != nil {
					return nil, err
				}
				out[k] = base64.StdEncoding.EncodeToString(d)
				continue
			}
			c, err := convertData(x)
			if err != nil {
				return nil, err
			}
			out[k] = c
		}
		return out, nil
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			c, err := convertData(x)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	}
	return t, nil
}

// maxRepeat bounds a generated list.
const maxRepeat = 100000

// repeatItems expands {$repeat: N, item: X} in a request into a list of N
// copies of X, with "{i}" in its strings replaced by 1..N: cases need
// lists longer than anyone would write out (1001 values, 1001 requests).
func repeatItems(n, item any) ([]any, error) {
	count, ok := n.(int)
	if !ok || count < 0 || count > maxRepeat {
		return nil, fmt.Errorf("$repeat: want a count from 0 to %d, got %v", maxRepeat, n)
	}
	if item == nil {
		return nil, fmt.Errorf("$repeat needs an item")
	}
	out := make([]any, count)
	for i := range out {
		out[i] = replaceIndex(item, strconv.Itoa(i+1))
	}
	return out, nil
}

func replaceIndex(t any, i string) any {
	switch v := t.(type) {
	case string:
		if v == "{i}" {
			n, _ := strconv.Atoi(i)
			return n
		}
		return strings.ReplaceAll(v, "{i}", i)
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = replaceIndex(x, i)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for k, x := range v {
			out[k] = replaceIndex(x, i)
		}
		return out
	}
	return t
}

// isData reports whether x is given as data (text or {base64: ...}), not
// as a message.
func isData(x any) bool {
	switch d := x.(type) {
	case string:
		return true
	case map[string]any:
		_, ok := d["base64"]
		return ok && len(d) == 1
	}
	return false
}

// dataBytes reads a value's data: a string is UTF-8 text; {base64: s}
// is binary.
func dataBytes(x any) ([]byte, error) {
	switch d := x.(type) {
	case string:
		return []byte(d), nil
	case map[string]any:
		if b, ok := d["base64"].(string); ok && len(d) == 1 {
			raw, err := base64.StdEncoding.DecodeString(b)
			if err != nil {
				return nil, fmt.Errorf("data base64: %w", err)
			}
			return raw, nil
		}
	}
	return nil, fmt.Errorf("data must be text or {base64: ...}, got %v", x)
}

// buildRequest makes the method's input message from an expanded tree.
func buildRequest(m protoreflect.MethodDescriptor, tree any) (proto.Message, error) {
	msg, err := newMessage(m.Input())
	if err != nil {
		return nil, err
	}
	js, err := requestJSON(tree)
	if err != nil {
		return nil, err
	}
	if err := protojson.Unmarshal(js, msg); err != nil {
		return nil, fmt.Errorf("request for %s: %w", m.Name(), err)
	}
	return msg, nil
}

// responseTree renders a response as a generic tree, field names as in
// the .proto file, every field present (zero values included).
func responseTree(msg proto.Message) (any, error) {
	js, err := protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}.Marshal(msg)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	var t any
	if err := dec.Decode(&t); err != nil {
		return nil, err
	}
	return t, nil
}

// streamRequests builds the messages of a streaming call: the request
// tree is a list, one element per message sent.
func streamRequests(m protoreflect.MethodDescriptor, tree any) ([]proto.Message, error) {
	list, ok := tree.([]any)
	if !ok {
		return nil, fmt.Errorf("%s streams: give its request as a list of messages", m.Name())
	}
	out := make([]proto.Message, 0, len(list))
	for i, e := range list {
		msg, err := buildRequest(m, e)
		if err != nil {
			return nil, fmt.Errorf("message %d: %w", i+1, err)
		}
		out = append(out, msg)
	}
	return out, nil
}

// invokeStream sends every message of a streaming call (the one request
// of a server-streaming call), closes its side, and collects the responses
// until the server ends the stream. A failed stream returns the responses received before it.
func invokeStream(ctx context.Context, c *client.Client, m protoreflect.MethodDescriptor, reqs []proto.Message, token string) ([]proto.Message, error) {
	var opts []grpc.CallOption
	if token != "" {
		opts = append(opts, client.WithToken(token))
	}
	desc := &grpc.StreamDesc{StreamName: string(m.Name()), ClientStreams: m.IsStreamingClient(), ServerStreams: m.IsStreamingServer()}
	st, err := c.NewStream(ctx, desc, fullMethod(m), opts...)
	if err != nil {
		return nil, err
	}
	// Send from a goroutine: a bidi server may answer before it has read
	// everything, and flow control must not deadlock the two directions.
	sendErr := make(chan error, 1)
	go func() {
		for _, r := range reqs {
			if err := st.SendMsg(r); err != nil {
				sendErr <- nil // the receive side reports the stream's error
				return
			}
		}
		sendErr <- st.CloseSend()
	}()
	var out []proto.Message
	for {
		resp, err := newMessage(m.Output())
		if err != nil {
			return out, err
		}
		if err := st.RecvMsg(resp); err != nil {
			if errors.Is(err, io.EOF) {
				return out, <-sendErr
			}
			return out, err
		}
		out = append(out, resp)
	}
}

// invoke calls a unary method through c. token "" sends no credential.
func invoke(ctx context.Context, c *client.Client, m protoreflect.MethodDescriptor, req proto.Message, token string) (proto.Message, error) {
	resp, err := newMessage(m.Output())
	if err != nil {
		return nil, err
	}
	var opts []grpc.CallOption
	if token != "" {
		opts = append(opts, client.WithToken(token))
	}
	if err := c.Invoke(ctx, fullMethod(m), req, resp, opts...); err != nil {
		return nil, err
	}
	return resp, nil
}

var codeNames = func() map[string]codes.Code {
	out := map[string]codes.Code{}
	for c := codes.OK; c <= codes.Unauthenticated; c++ {
		out[c.String()] = c
	}
	return out
}()

func parseCode(s string) (codes.Code, bool) {
	c, ok := codeNames[s]
	return c, ok
}

func codeOf(err error) (codes.Code, string) {
	st, _ := status.FromError(err)
	return st.Code(), st.Message()
}

// checkGRPC validates a gRPC step at load time: the method exists, the
// request fits its input message, and expectations name real fields.
func (l *loader) checkGRPC(s *Step, req, expect *yaml.Node) {
	m, err := lookupMethod(s.Method)
	if err != nil {
		l.fail(req, "%v", err)
		return
	}
	s.Method = string(m.Name())
	if m.IsStreamingClient() || m.IsStreamingServer() {
		if m.IsStreamingClient() {
			_, err = streamRequests(m, loadTimeTree(s.Request))
		} else {
			_, err = buildRequest(m, loadTimeTree(s.Request))
		}
		if err != nil {
			l.fail(req, "%v", err)
		}
		for k, kn := range keysOf(expect) {
			if k != "code" && k != "error" && k != "responses" && k != "merged" {
				l.fail(kn, "%s streams: expect holds code, error, responses (the messages received) and merged (their list fields concatenated), not %q", m.Name(), k)
			}
		}
		return
	}
	if _, err := buildRequest(m, loadTimeTree(s.Request)); err != nil {
		l.fail(req, "%v", err)
	}
	if expect == nil {
		return
	}
	fields := m.Output().Fields()
	var names []string
	for i := 0; i < fields.Len(); i++ {
		names = append(names, string(fields.Get(i).Name()))
	}
	sort.Strings(names)
	for k, kn := range keysOf(expect) {
		switch {
		case k == "code":
			if c, ok := s.Expect[k].(string); !ok {
				l.fail(kn, "code must be a gRPC code name such as InvalidArgument")
			} else if _, ok := parseCode(c); !ok {
				l.fail(kn, "unknown gRPC code %q", c)
			}
		case k == "error":
		case slices.Contains(names, k):
		default:
			l.fail(kn, "%s has no field %q (fields: %s; or code, error)", m.Output().FullName(), k, strings.Join(names, ", "))
		}
	}
}

// savedOnly matches a string that is one saved value and nothing else.
var savedOnly = regexp.MustCompile(`^\{\$[A-Za-z0-9_]+\}$`)

// loadTimeTree stands "0" in for each string that is only a saved value
// ("{$rev}"), unknown until the case runs, so that the load-time check of
// a request accepts it in a numeric field too.
func loadTimeTree(t any) any {
	switch v := t.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = loadTimeTree(x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = loadTimeTree(x)
		}
		return out
	case string:
		if savedOnly.MatchString(v) {
			return "0"
		}
	}
	return t
}
