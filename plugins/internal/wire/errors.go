package wire

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/ssogate/ssogate/plugins/proto"
	"github.com/ssogate/ssogate/providers"
)

// sentinels lists the errors a kind stands for, in the order they are
// tried: an error that wraps two of them gets the first.
var sentinels = []struct {
	kind pb.ErrorKind
	err  error
}{
	{pb.ErrorKind_ERROR_KIND_INVALID_CREDENTIALS, providers.ErrInvalidCredentials},
	{pb.ErrorKind_ERROR_KIND_ACCOUNT_DISABLED, providers.ErrAccountDisabled},
	{pb.ErrorKind_ERROR_KIND_UNAVAILABLE, providers.ErrUnavailable},
	{pb.ErrorKind_ERROR_KIND_BUSY, providers.ErrBusy},
	{pb.ErrorKind_ERROR_KIND_DENIED, providers.ErrDenied},
	{pb.ErrorKind_ERROR_KIND_NOT_ALLOWED, providers.ErrNotAllowed},
	{pb.ErrorKind_ERROR_KIND_INVALID_RESPONSE, providers.ErrInvalidResponse},
	{pb.ErrorKind_ERROR_KIND_DEADLINE_EXCEEDED, context.DeadlineExceeded},
	{pb.ErrorKind_ERROR_KIND_CANCELED, context.Canceled},
}

func kindOf(err error) pb.ErrorKind {
	for _, s := range sentinels {
		if errors.Is(err, s.err) {
			return s.kind
		}
	}
	return pb.ErrorKind_ERROR_KIND_INTERNAL
}

func sentinelOf(kind pb.ErrorKind) error {
	for _, s := range sentinels {
		if s.kind == kind {
			return s.err
		}
	}
	return nil
}

// codeOf gives each kind a gRPC code for tools that look at codes only;
// the host itself reads the Error detail.
func codeOf(kind pb.ErrorKind) codes.Code {
	switch kind {
	case pb.ErrorKind_ERROR_KIND_INVALID_CREDENTIALS:
		return codes.Unauthenticated
	case pb.ErrorKind_ERROR_KIND_ACCOUNT, pb.ErrorKind_ERROR_KIND_ACCOUNT_DISABLED,
		pb.ErrorKind_ERROR_KIND_DENIED, pb.ErrorKind_ERROR_KIND_NOT_ALLOWED,
		pb.ErrorKind_ERROR_KIND_PROVIDER_ERROR:
		return codes.PermissionDenied
	case pb.ErrorKind_ERROR_KIND_UNAVAILABLE:
		return codes.Unavailable
	case pb.ErrorKind_ERROR_KIND_BUSY:
		return codes.ResourceExhausted
	case pb.ErrorKind_ERROR_KIND_INVALID_RESPONSE:
		return codes.FailedPrecondition
	case pb.ErrorKind_ERROR_KIND_DEADLINE_EXCEEDED:
		return codes.DeadlineExceeded
	case pb.ErrorKind_ERROR_KIND_CANCELED:
		return codes.Canceled
	}
	return codes.Unknown
}

// ErrorToStatus turns a provider's error into the gRPC status error that
// carries it across: a *providers.ProviderError or *providers.AccountError
// with its fields, a sentinel by its kind, anything else by its message.
func ErrorToStatus(err error) error {
	e := &pb.Error{Message: err.Error()}
	var pe *providers.ProviderError
	var ae *providers.AccountError
	switch {
	case errors.As(err, &pe):
		e.Kind = pb.ErrorKind_ERROR_KIND_PROVIDER_ERROR
		e.Code, e.Description = pe.Code, pe.Description
		if pe.Err != nil {
			e.Wrapped = kindOf(pe.Err)
			e.WrappedMessage = pe.Err.Error()
		}
	case errors.As(err, &ae):
		e.Kind = pb.ErrorKind_ERROR_KIND_ACCOUNT
		e.Reason, e.Detail = ae.Reason, ae.Detail
	default:
		e.Kind = kindOf(err)
	}
	st, derr := status.New(codeOf(e.Kind), e.Message).WithDetails(e)
	if derr != nil {
		// Only a broken proto registry gets here; the message still crosses.
		return status.Error(codes.Internal, e.Message)
	}
	return st.Err()
}

// ErrorFromStatus rebuilds the provider error that ErrorToStatus sent. It
// reports false when err carries no Error detail: then the call failed on
// the way (transport, deadline, a plugin that is not ours), not in the
// provider.
func ErrorFromStatus(err error) (error, bool) {
	st, ok := status.FromError(err)
	if !ok {
		return nil, false
	}
	for _, d := range st.Details() {
		if e, ok := d.(*pb.Error); ok {
			return decodeError(e), true
		}
	}
	return nil, false
}

// IsContextKind reports whether err, rebuilt by ErrorFromStatus, is the
// plugin passing on its call's context ending.
func IsContextKind(err error) bool {
	var re *RemoteError
	if errors.As(err, &re) {
		err = re.Err
	}
	return err == context.DeadlineExceeded || err == context.Canceled
}

func decodeError(e *pb.Error) error {
	var inner error
	switch e.Kind {
	case pb.ErrorKind_ERROR_KIND_ACCOUNT:
		inner = &providers.AccountError{Reason: e.Reason, Detail: e.Detail}
	case pb.ErrorKind_ERROR_KIND_PROVIDER_ERROR:
		pe := &providers.ProviderError{Code: e.Code, Description: e.Description}
		switch e.Wrapped {
		case pb.ErrorKind_ERROR_KIND_UNSPECIFIED:
		case pb.ErrorKind_ERROR_KIND_INTERNAL:
			pe.Err = errors.New(e.WrappedMessage)
		default:
			pe.Err = sentinelOf(e.Wrapped)
		}
		inner = pe
	default:
		inner = sentinelOf(e.Kind)
	}
	if inner == nil {
		return &RemoteError{Message: e.Message}
	}
	if inner.Error() == e.Message {
		return inner
	}
	return &RemoteError{Message: e.Message, Err: inner}
}

// RemoteError is a plugin's error rebuilt on the host: the plugin's own
// message, wrapping the providers error (sentinel, *AccountError,
// *ProviderError) it stood for, or nothing for other errors.
type RemoteError struct {
	Message string
	Err     error
}

func (e *RemoteError) Error() string { return e.Message }

func (e *RemoteError) Unwrap() error { return e.Err }
