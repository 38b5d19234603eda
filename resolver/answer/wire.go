package answer

import (
	"google.golang.org/protobuf/encoding/protowire"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/value"
)

// Answers over gRPC carry a record's values as they are stored. Decoding a
// record (every value and its timestamp) only to encode the same values
// again was the largest cost of a lookup, so the gRPC service asks for
// "wire" answers: the values the caller may see are copied, still encoded,
// into the answer's unknown fields under the number of its values field.
// proto writes unknown fields verbatim, so the bytes on the wire are those
// of the same answer with decoded values, and clients decode them as
// values. In process such an answer's GetValues is empty: only the gRPC
// service asks for one (resolver.EncodedResolver).

// Field numbers of the stored Identifier, of Value and of ResolveResponse
// (proto/idres/v1).
const (
	recordIdentifierField = 1
	recordValuesField     = 2

	valueIndexField      = 1
	valueTypeField       = 2
	valueTTLField        = 4
	valuePublicReadField = 6

	answerValuesField = 3
)

// wireAnswer completes resp from a stored record as lookup does from the
// decoded record: values filtered by visibility (private: the caller may
// read private values) and by the request's type and index filters, the
// answer's TTL the smallest of theirs. It reports false, touching nothing,
// when raw does not parse; the caller then decodes it and reports why.
func wireAnswer(resp *idresv1.ResolveResponse, raw []byte, private bool, req *idresv1.ResolveRequest) bool {
	var identifier []byte
	var keep [8][]byte
	sel := keep[:0]
	ttl, size := ^uint32(0), 0
	for b := raw; len(b) > 0; {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return false
		}
		b = b[n:]
		if typ != protowire.BytesType || num != recordIdentifierField && num != recordValuesField {
			if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
				return false
			}
			b = b[n:]
			continue
		}
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return false
		}
		b = b[n:]
		if num == recordIdentifierField {
			identifier = v
			continue
		}
		m, ok := parseValue(v)
		if !ok {
			return false
		}
		if !private && m.publicSet && !m.public ||
			!value.Selects(string(m.typ), m.index, req.GetTypes(), req.GetIndexes(), req.GetFilter()) {
			continue
		}
		sel = append(sel, v)
		ttl = min(ttl, m.ttl)
		size += protowire.SizeTag(answerValuesField) + protowire.SizeBytes(len(v))
	}
	resp.Identifier = string(identifier)
	if len(sel) == 0 {
		resp.Outcome = idresv1.Outcome_OUTCOME_VALUES_NOT_FOUND
		resp.Message = "no value matches the type and index filter"
		return true
	}
	// One copy: raw belongs to the store's transaction.
	out := make([]byte, 0, size)
	for _, v := range sel {
		out = protowire.AppendTag(out, answerValuesField, protowire.BytesType)
		out = protowire.AppendBytes(out, v)
	}
	resp.ProtoReflect().SetUnknown(out)
	resp.Outcome = idresv1.Outcome_OUTCOME_OK
	resp.Ttl = ttl
	return true
}

// valueMeta is what filtering needs of an encoded value.
type valueMeta struct {
	index             uint32
	typ               []byte
	ttl               uint32
	publicSet, public bool
}

// parseValue reads an encoded Value's filter fields; as when decoding, the
// last occurrence of a field wins and an absent TTL is value.DefaultTTL.
func parseValue(v []byte) (valueMeta, bool) {
	m := valueMeta{ttl: value.DefaultTTL}
	for len(v) > 0 {
		num, typ, n := protowire.ConsumeTag(v)
		if n < 0 {
			return m, false
		}
		v = v[n:]
		switch {
		case typ == protowire.VarintType && (num == valueIndexField || num == valueTTLField || num == valuePublicReadField):
			x, n := protowire.ConsumeVarint(v)
			if n < 0 {
				return m, false
			}
			v = v[n:]
			switch num {
			case valueIndexField:
				m.index = uint32(x)
			case valueTTLField:
				m.ttl = uint32(x)
			default:
				m.publicSet, m.public = true, protowire.DecodeBool(x)
			}
		case typ == protowire.BytesType && num == valueTypeField:
			s, n := protowire.ConsumeBytes(v)
			if n < 0 {
				return m, false
			}
			v = v[n:]
			m.typ = s
		default:
			if n = protowire.ConsumeFieldValue(num, typ, v); n < 0 {
				return m, false
			}
			v = v[n:]
		}
	}
	return m, true
}
