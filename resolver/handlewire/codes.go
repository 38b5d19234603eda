package handlewire

import "fmt"

// Operation codes (RFC 3652 §2.2.2.1).
const (
	OpReserved       uint32 = 0
	OpResolution     uint32 = 1
	OpGetSiteInfo    uint32 = 2
	OpCreateHandle   uint32 = 100
	OpDeleteHandle   uint32 = 101
	OpAddValue       uint32 = 102
	OpRemoveValue    uint32 = 103
	OpModifyValue    uint32 = 104
	OpListHandles    uint32 = 105
	OpListNAs        uint32 = 106
	OpChallengeReply uint32 = 200
	OpVerifyResponse uint32 = 201
	OpHomeNA         uint32 = 300
	OpUnhomeNA       uint32 = 301
	OpListHomedNAs   uint32 = 302
	OpSessionSetup   uint32 = 400
	OpSessionEnd     uint32 = 401
)

// Response codes (RFC 3652 §2.2.2.2; 303 is hdllib 2.5's prefix
// referral). A request carries RCReserved.
const (
	RCReserved                uint32 = 0
	RCSuccess                 uint32 = 1
	RCError                   uint32 = 2
	RCServerTooBusy           uint32 = 3
	RCProtocolError           uint32 = 4
	RCOperationNotSupported   uint32 = 5
	RCRecursionCountTooHigh   uint32 = 6
	RCHandleNotFound          uint32 = 100
	RCHandleAlreadyExists     uint32 = 101
	RCInvalidHandle           uint32 = 102
	RCValuesNotFound          uint32 = 200
	RCValueAlreadyExists      uint32 = 201
	RCInvalidValue            uint32 = 202
	RCOutOfDateSiteInfo       uint32 = 300
	RCServerNotResponsible    uint32 = 301
	RCServiceReferral         uint32 = 302
	RCPrefixReferral          uint32 = 303
	RCInvalidAdmin            uint32 = 400
	RCInsufficientPermissions uint32 = 401
	RCAuthenticationNeeded    uint32 = 402
	RCAuthenticationFailed    uint32 = 403
	RCInvalidCredential       uint32 = 404
	RCAuthenticationTimeout   uint32 = 405
	RCAuthenticationError     uint32 = 406
	RCSessionTimeout          uint32 = 500
	RCSessionFailed           uint32 = 501
)

var rcNames = map[uint32]string{
	RCSuccess: "SUCCESS", RCError: "ERROR", RCServerTooBusy: "SERVER_TOO_BUSY", RCProtocolError: "PROTOCOL_ERROR",
	RCOperationNotSupported: "OPERATION_NOT_SUPPORTED", RCRecursionCountTooHigh: "RECURSION_COUNT_TOO_HIGH",
	RCHandleNotFound: "HANDLE_NOT_FOUND", RCHandleAlreadyExists: "HANDLE_ALREADY_EXISTS", RCInvalidHandle: "INVALID_HANDLE",
	RCValuesNotFound: "VALUES_NOT_FOUND", RCValueAlreadyExists: "VALUE_ALREADY_EXISTS", RCInvalidValue: "INVALID_VALUE",
	RCOutOfDateSiteInfo: "OUT_OF_DATE_SITE_INFO", RCServerNotResponsible: "SERVER_NOT_RESP",
	RCServiceReferral: "SERVICE_REFERRAL", RCPrefixReferral: "PREFIX_REFERRAL", RCInvalidAdmin: "INVALID_ADMIN",
	RCInsufficientPermissions: "INSUFFICIENT_PERMISSIONS", RCAuthenticationNeeded: "AUTHENTICATION_NEEDED",
	RCAuthenticationFailed: "AUTHENTICATION_FAILED", RCInvalidCredential: "INVALID_CREDENTIAL",
	RCAuthenticationTimeout: "AUTHEN_TIMEOUT", RCAuthenticationError: "AUTHEN_ERROR",
	RCSessionTimeout: "SESSION_TIMEOUT", RCSessionFailed: "SESSION_FAILED",
}

// RCName is a response code's name without the RC_ prefix, or its number.
func RCName(rc uint32) string {
	if n, ok := rcNames[rc]; ok {
		return n
	}
	return fmt.Sprintf("%d", rc)
}

// Operation flags of the message header (RFC 3652 §2.2.2.3, and the
// later bits hdllib 2.5 defines).
const (
	FlagAuthoritative   uint32 = 0x80000000 // AT: answer from a primary, not a cache
	FlagCertify         uint32 = 0x40000000 // CT: sign the response
	FlagEncrypt         uint32 = 0x20000000 // ENC
	FlagRecursive       uint32 = 0x10000000 // REC: the server may resolve on the client's behalf
	FlagCacheCertify    uint32 = 0x08000000 // CA
	FlagContinuous      uint32 = 0x04000000 // CN: more messages follow
	FlagKeepAlive       uint32 = 0x02000000 // KC: keep the connection open
	FlagPublicOnly      uint32 = 0x01000000 // PO: public values only
	FlagRequestDigest   uint32 = 0x00800000 // RD: the response carries a digest of the request
	FlagOverwrite       uint32 = 0x00400000
	FlagMintSuffix      uint32 = 0x00200000
	FlagDoNotRefer      uint32 = 0x00100000
	requestFlagsToEcho  uint32 = FlagAuthoritative | FlagCertify | FlagRecursive | FlagCacheCertify | FlagPublicOnly | FlagDoNotRefer
	envelopeFlagsMask   uint8  = 0xe0
	envelopeSuggestMask uint8  = 0x03
)

// ResponseFlags are the flags a response to a request with flags f
// carries: the request's own (as hdllib's takeValuesFrom copies them),
// and RD when the response carries a request digest.
func ResponseFlags(f uint32, digest bool) uint32 {
	out := f & requestFlagsToEcho
	if digest {
		out |= FlagRequestDigest
	}
	return out
}

// Envelope flags (RFC 3652 §2.2.1.3).
const (
	EnvCompressed uint8 = 0x80
	EnvEncrypted  uint8 = 0x40
	EnvTruncated  uint8 = 0x20
)

// Value permissions (RFC 3651 §3.1).
const (
	PermAdminRead   uint8 = 0x08
	PermAdminWrite  uint8 = 0x04
	PermPublicRead  uint8 = 0x02
	PermPublicWrite uint8 = 0x01
)

// Request digest algorithms (the octet before a response's digest).
const (
	DigestMD5    uint8 = 1
	DigestSHA1   uint8 = 2
	DigestSHA256 uint8 = 3
)

// Site interface service types and transports (RFC 3651 §3.2.2).
const (
	ServiceOutOfService uint8 = 0
	ServiceAdmin        uint8 = 1
	ServiceResolution   uint8 = 2
	ServiceBoth         uint8 = 3

	TransportUDP   uint8 = 0
	TransportTCP   uint8 = 1
	TransportHTTP  uint8 = 2
	TransportHTTPS uint8 = 3
)

// Sizes and limits.
const (
	EnvelopeSize = 20
	HeaderSize   = 24
	// MaxMessageLength is the largest message hdllib sends or accepts.
	MaxMessageLength = 262144
	// MaxUDPPacket is the largest datagram of a multi-packet UDP message.
	MaxUDPPacket = 512
	// MaxHandleLength is hdllib's limit on a handle in a response.
	MaxHandleLength = 2048
	// MaxValues is hdllib's limit on the values of one response.
	MaxValues = 2048
)
