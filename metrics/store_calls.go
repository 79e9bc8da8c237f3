// timedStore's methods: one per method of store.Store, in the interface's
// order, each timed by done. A method added to the interface fails the
// compile-time guard in store.go until it is added here.

package metrics

import (
	"context"
	"time"

	"github.com/ssogate/ssogate/store"
)

// The store methods, as indexes into the per-method series.
const (
	callCreateUser storeCall = iota
	callGetUser
	callGetUserByEmail
	callListUsers
	callUpdateUser
	callRecordLogin
	callSetPasswordHash
	callPasswordHash
	callCreateSession
	callGetSession
	callTouchSession
	callTouchSessions
	callDeleteSession
	callListUserSessions
	callDeleteUserSessions
	callDeleteExpiredSessions
	callAppendAudit
	callListAudit
	callSecret
	callAddSigningKey
	callListSigningKeys
	callRetireSigningKey
	callDeleteSigningKey
	callLinkIdentity
	callUserByIdentity
	callTouchIdentity
	callListUserIdentities
	callUnlinkIdentity
	callCreateTicket
	callConsumeTicket
	callDeleteExpiredTickets
	callApply
	callCountFailure
	callFailures
	callClearFailure
	callHit
	callHitCount
	callDeleteExpiredHits
	callEnqueueMessage
	callClaimMessages
	callMessageSent
	callMessageFailed
	callListMessages
	callPeekTicket
	callAddFactor
	callListFactors
	callFactorByHandle
	callUseFactor
	callRenameFactor
	callDeleteFactor
	callSetRecoveryCodes
	callUseRecoveryCode
	callRecoveryCodesLeft
	callRememberBrowser
	callUseRememberedBrowser
	callListRememberedBrowsers
	callForgetBrowser
	callDeleteExpiredBrowsers
	callResetTwoStep
	callSearchUsers
	callUsersByIDPrefix
	callDeleteUser
	callSettings
	callSetSetting
	callListTickets
	callDeleteTickets
	callAddDevice
	callUseDevice
	callListDevices
	callDeleteDevice
	callPing
	callClose
	callCreateOAuthToken
	callGetOAuthToken
	callRotateRefreshToken
	callDeleteOAuthTokens
	callDeleteExpiredOAuthTokens
	callAddSessionClient
	callListSessionClients
	callDeleteSessionClients
	callDeleteExpiredSessionClients
	callMoveSessionClients
	numStoreCalls
)

// storeCallNames are the method label values, by storeCall.
var storeCallNames = [numStoreCalls]string{
	callCreateUser:                  "CreateUser",
	callGetUser:                     "GetUser",
	callGetUserByEmail:              "GetUserByEmail",
	callListUsers:                   "ListUsers",
	callUpdateUser:                  "UpdateUser",
	callRecordLogin:                 "RecordLogin",
	callSetPasswordHash:             "SetPasswordHash",
	callPasswordHash:                "PasswordHash",
	callCreateSession:               "CreateSession",
	callGetSession:                  "GetSession",
	callTouchSession:                "TouchSession",
	callTouchSessions:               "TouchSessions",
	callDeleteSession:               "DeleteSession",
	callListUserSessions:            "ListUserSessions",
	callDeleteUserSessions:          "DeleteUserSessions",
	callDeleteExpiredSessions:       "DeleteExpiredSessions",
	callAppendAudit:                 "AppendAudit",
	callListAudit:                   "ListAudit",
	callSecret:                      "Secret",
	callAddSigningKey:               "AddSigningKey",
	callListSigningKeys:             "ListSigningKeys",
	callRetireSigningKey:            "RetireSigningKey",
	callDeleteSigningKey:            "DeleteSigningKey",
	callLinkIdentity:                "LinkIdentity",
	callUserByIdentity:              "UserByIdentity",
	callTouchIdentity:               "TouchIdentity",
	callListUserIdentities:          "ListUserIdentities",
	callUnlinkIdentity:              "UnlinkIdentity",
	callCreateTicket:                "CreateTicket",
	callConsumeTicket:               "ConsumeTicket",
	callDeleteExpiredTickets:        "DeleteExpiredTickets",
	callApply:                       "Apply",
	callCountFailure:                "CountFailure",
	callFailures:                    "Failures",
	callClearFailure:                "ClearFailure",
	callHit:                         "Hit",
	callHitCount:                    "HitCount",
	callDeleteExpiredHits:           "DeleteExpiredHits",
	callEnqueueMessage:              "EnqueueMessage",
	callClaimMessages:               "ClaimMessages",
	callMessageSent:                 "MessageSent",
	callMessageFailed:               "MessageFailed",
	callListMessages:                "ListMessages",
	callPeekTicket:                  "PeekTicket",
	callAddFactor:                   "AddFactor",
	callListFactors:                 "ListFactors",
	callFactorByHandle:              "FactorByHandle",
	callUseFactor:                   "UseFactor",
	callRenameFactor:                "RenameFactor",
	callDeleteFactor:                "DeleteFactor",
	callSetRecoveryCodes:            "SetRecoveryCodes",
	callUseRecoveryCode:             "UseRecoveryCode",
	callRecoveryCodesLeft:           "RecoveryCodesLeft",
	callRememberBrowser:             "RememberBrowser",
	callUseRememberedBrowser:        "UseRememberedBrowser",
	callListRememberedBrowsers:      "ListRememberedBrowsers",
	callForgetBrowser:               "ForgetBrowser",
	callDeleteExpiredBrowsers:       "DeleteExpiredBrowsers",
	callResetTwoStep:                "ResetTwoStep",
	callSearchUsers:                 "SearchUsers",
	callUsersByIDPrefix:             "UsersByIDPrefix",
	callDeleteUser:                  "DeleteUser",
	callSettings:                    "Settings",
	callSetSetting:                  "SetSetting",
	callListTickets:                 "ListTickets",
	callDeleteTickets:               "DeleteTickets",
	callAddDevice:                   "AddDevice",
	callUseDevice:                   "UseDevice",
	callListDevices:                 "ListDevices",
	callDeleteDevice:                "DeleteDevice",
	callPing:                        "Ping",
	callClose:                       "Close",
	callCreateOAuthToken:            "CreateOAuthToken",
	callGetOAuthToken:               "GetOAuthToken",
	callRotateRefreshToken:          "RotateRefreshToken",
	callDeleteOAuthTokens:           "DeleteOAuthTokens",
	callDeleteExpiredOAuthTokens:    "DeleteExpiredOAuthTokens",
	callAddSessionClient:            "AddSessionClient",
	callListSessionClients:          "ListSessionClients",
	callDeleteSessionClients:        "DeleteSessionClients",
	callDeleteExpiredSessionClients: "DeleteExpiredSessionClients",
	callMoveSessionClients:          "MoveSessionClients",
}

func (ts *timedStore) CreateUser(ctx context.Context, u *store.User) error {
	start := time.Now()
	err := ts.st.CreateUser(ctx, u)
	ts.done(callCreateUser, start, err)
	return err
}

func (ts *timedStore) GetUser(ctx context.Context, id string) (*store.User, error) {
	start := time.Now()
	v, err := ts.st.GetUser(ctx, id)
	ts.done(callGetUser, start, err)
	return v, err
}

func (ts *timedStore) GetUserByEmail(ctx context.Context, email string) (*store.User, error) {
	start := time.Now()
	v, err := ts.st.GetUserByEmail(ctx, email)
	ts.done(callGetUserByEmail, start, err)
	return v, err
}

func (ts *timedStore) ListUsers(ctx context.Context) ([]*store.User, error) {
	start := time.Now()
	v, err := ts.st.ListUsers(ctx)
	ts.done(callListUsers, start, err)
	return v, err
}

func (ts *timedStore) UpdateUser(ctx context.Context, u *store.User) error {
	start := time.Now()
	err := ts.st.UpdateUser(ctx, u)
	ts.done(callUpdateUser, start, err)
	return err
}

func (ts *timedStore) RecordLogin(ctx context.Context, userID string, at time.Time) error {
	start := time.Now()
	err := ts.st.RecordLogin(ctx, userID, at)
	ts.done(callRecordLogin, start, err)
	return err
}

func (ts *timedStore) SetPasswordHash(ctx context.Context, userID, encoded string) error {
	start := time.Now()
	err := ts.st.SetPasswordHash(ctx, userID, encoded)
	ts.done(callSetPasswordHash, start, err)
	return err
}

func (ts *timedStore) PasswordHash(ctx context.Context, userID string) (string, error) {
	start := time.Now()
	v, err := ts.st.PasswordHash(ctx, userID)
	ts.done(callPasswordHash, start, err)
	return v, err
}

func (ts *timedStore) CreateSession(ctx context.Context, s *store.Session) error {
	start := time.Now()
	err := ts.st.CreateSession(ctx, s)
	ts.done(callCreateSession, start, err)
	return err
}

func (ts *timedStore) GetSession(ctx context.Context, id string) (*store.Session, error) {
	start := time.Now()
	v, err := ts.st.GetSession(ctx, id)
	ts.done(callGetSession, start, err)
	return v, err
}

func (ts *timedStore) TouchSession(ctx context.Context, id string, seen, idle time.Time) error {
	start := time.Now()
	err := ts.st.TouchSession(ctx, id, seen, idle)
	ts.done(callTouchSession, start, err)
	return err
}

func (ts *timedStore) TouchSessions(ctx context.Context, touches []store.SessionTouch) ([]string, error) {
	start := time.Now()
	v, err := ts.st.TouchSessions(ctx, touches)
	ts.done(callTouchSessions, start, err)
	return v, err
}

func (ts *timedStore) DeleteSession(ctx context.Context, id string) error {
	start := time.Now()
	err := ts.st.DeleteSession(ctx, id)
	ts.done(callDeleteSession, start, err)
	return err
}

func (ts *timedStore) ListUserSessions(ctx context.Context, userID string) ([]*store.Session, error) {
	start := time.Now()
	v, err := ts.st.ListUserSessions(ctx, userID)
	ts.done(callListUserSessions, start, err)
	return v, err
}

func (ts *timedStore) DeleteUserSessions(ctx context.Context, userID string) (int, error) {
	start := time.Now()
	v, err := ts.st.DeleteUserSessions(ctx, userID)
	ts.done(callDeleteUserSessions, start, err)
	return v, err
}

func (ts *timedStore) DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error) {
	start := time.Now()
	v, err := ts.st.DeleteExpiredSessions(ctx, now)
	ts.done(callDeleteExpiredSessions, start, err)
	return v, err
}

func (ts *timedStore) AppendAudit(ctx context.Context, e *store.AuditEvent) error {
	start := time.Now()
	err := ts.st.AppendAudit(ctx, e)
	ts.done(callAppendAudit, start, err)
	return err
}

func (ts *timedStore) ListAudit(ctx context.Context, f store.AuditFilter) ([]*store.AuditEvent, error) {
	start := time.Now()
	v, err := ts.st.ListAudit(ctx, f)
	ts.done(callListAudit, start, err)
	return v, err
}

func (ts *timedStore) Secret(ctx context.Context, name string, generate func() ([]byte, error)) ([]byte, error) {
	start := time.Now()
	v, err := ts.st.Secret(ctx, name, generate)
	ts.done(callSecret, start, err)
	return v, err
}

func (ts *timedStore) AddSigningKey(ctx context.Context, k *store.SigningKey) error {
	start := time.Now()
	err := ts.st.AddSigningKey(ctx, k)
	ts.done(callAddSigningKey, start, err)
	return err
}

func (ts *timedStore) ListSigningKeys(ctx context.Context) ([]*store.SigningKey, error) {
	start := time.Now()
	v, err := ts.st.ListSigningKeys(ctx)
	ts.done(callListSigningKeys, start, err)
	return v, err
}

func (ts *timedStore) RetireSigningKey(ctx context.Context, id string, at time.Time) error {
	start := time.Now()
	err := ts.st.RetireSigningKey(ctx, id, at)
	ts.done(callRetireSigningKey, start, err)
	return err
}

func (ts *timedStore) DeleteSigningKey(ctx context.Context, id string) error {
	start := time.Now()
	err := ts.st.DeleteSigningKey(ctx, id)
	ts.done(callDeleteSigningKey, start, err)
	return err
}

func (ts *timedStore) LinkIdentity(ctx context.Context, l *store.IdentityLink) error {
	start := time.Now()
	err := ts.st.LinkIdentity(ctx, l)
	ts.done(callLinkIdentity, start, err)
	return err
}

func (ts *timedStore) UserByIdentity(ctx context.Context, providerID, subject string) (*store.User, error) {
	start := time.Now()
	v, err := ts.st.UserByIdentity(ctx, providerID, subject)
	ts.done(callUserByIdentity, start, err)
	return v, err
}

func (ts *timedStore) TouchIdentity(ctx context.Context, providerID, subject string, at time.Time) error {
	start := time.Now()
	err := ts.st.TouchIdentity(ctx, providerID, subject, at)
	ts.done(callTouchIdentity, start, err)
	return err
}

func (ts *timedStore) ListUserIdentities(ctx context.Context, userID string) ([]*store.IdentityLink, error) {
	start := time.Now()
	v, err := ts.st.ListUserIdentities(ctx, userID)
	ts.done(callListUserIdentities, start, err)
	return v, err
}

func (ts *timedStore) UnlinkIdentity(ctx context.Context, providerID, subject string) error {
	start := time.Now()
	err := ts.st.UnlinkIdentity(ctx, providerID, subject)
	ts.done(callUnlinkIdentity, start, err)
	return err
}

func (ts *timedStore) CreateTicket(ctx context.Context, t *store.Ticket) error {
	start := time.Now()
	err := ts.st.CreateTicket(ctx, t)
	ts.done(callCreateTicket, start, err)
	return err
}

func (ts *timedStore) ConsumeTicket(ctx context.Context, purpose, id string, now time.Time) (*store.Ticket, error) {
	start := time.Now()
	v, err := ts.st.ConsumeTicket(ctx, purpose, id, now)
	ts.done(callConsumeTicket, start, err)
	return v, err
}

func (ts *timedStore) DeleteExpiredTickets(ctx context.Context, now time.Time) (int, error) {
	start := time.Now()
	v, err := ts.st.DeleteExpiredTickets(ctx, now)
	ts.done(callDeleteExpiredTickets, start, err)
	return v, err
}

func (ts *timedStore) Apply(ctx context.Context, b *store.Batch) (*store.Ticket, error) {
	start := time.Now()
	v, err := ts.st.Apply(ctx, b)
	ts.done(callApply, start, err)
	return v, err
}

func (ts *timedStore) CountFailure(ctx context.Context, userID, device string, at time.Time) (int, error) {
	start := time.Now()
	v, err := ts.st.CountFailure(ctx, userID, device, at)
	ts.done(callCountFailure, start, err)
	return v, err
}

func (ts *timedStore) Failures(ctx context.Context, userID, device string) (int, error) {
	start := time.Now()
	v, err := ts.st.Failures(ctx, userID, device)
	ts.done(callFailures, start, err)
	return v, err
}

func (ts *timedStore) ClearFailure(ctx context.Context, userID, device string) error {
	start := time.Now()
	err := ts.st.ClearFailure(ctx, userID, device)
	ts.done(callClearFailure, start, err)
	return err
}

func (ts *timedStore) Hit(ctx context.Context, key string, at time.Time, window time.Duration) (int, time.Time, error) {
	start := time.Now()
	n, reset, err := ts.st.Hit(ctx, key, at, window)
	ts.done(callHit, start, err)
	return n, reset, err
}

func (ts *timedStore) HitCount(ctx context.Context, key string, at time.Time) (int, time.Time, error) {
	start := time.Now()
	n, reset, err := ts.st.HitCount(ctx, key, at)
	ts.done(callHitCount, start, err)
	return n, reset, err
}

func (ts *timedStore) DeleteExpiredHits(ctx context.Context, now time.Time) (int, error) {
	start := time.Now()
	v, err := ts.st.DeleteExpiredHits(ctx, now)
	ts.done(callDeleteExpiredHits, start, err)
	return v, err
}

func (ts *timedStore) EnqueueMessage(ctx context.Context, m *store.Message) error {
	start := time.Now()
	err := ts.st.EnqueueMessage(ctx, m)
	ts.done(callEnqueueMessage, start, err)
	return err
}

func (ts *timedStore) ClaimMessages(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]*store.Message, error) {
	start := time.Now()
	v, err := ts.st.ClaimMessages(ctx, owner, now, lease, limit)
	ts.done(callClaimMessages, start, err)
	return v, err
}

func (ts *timedStore) MessageSent(ctx context.Context, id, owner string, at time.Time) error {
	start := time.Now()
	err := ts.st.MessageSent(ctx, id, owner, at)
	ts.done(callMessageSent, start, err)
	return err
}

func (ts *timedStore) MessageFailed(ctx context.Context, id, owner, reason string, at, next time.Time, giveUp bool) error {
	start := time.Now()
	err := ts.st.MessageFailed(ctx, id, owner, reason, at, next, giveUp)
	ts.done(callMessageFailed, start, err)
	return err
}

func (ts *timedStore) ListMessages(ctx context.Context, f store.MessageFilter) ([]*store.Message, error) {
	start := time.Now()
	v, err := ts.st.ListMessages(ctx, f)
	ts.done(callListMessages, start, err)
	return v, err
}

func (ts *timedStore) PeekTicket(ctx context.Context, purpose, id string, now time.Time) (*store.Ticket, error) {
	start := time.Now()
	v, err := ts.st.PeekTicket(ctx, purpose, id, now)
	ts.done(callPeekTicket, start, err)
	return v, err
}

func (ts *timedStore) AddFactor(ctx context.Context, f *store.Factor) error {
	start := time.Now()
	err := ts.st.AddFactor(ctx, f)
	ts.done(callAddFactor, start, err)
	return err
}

func (ts *timedStore) ListFactors(ctx context.Context, userID string) ([]*store.Factor, error) {
	start := time.Now()
	v, err := ts.st.ListFactors(ctx, userID)
	ts.done(callListFactors, start, err)
	return v, err
}

func (ts *timedStore) FactorByHandle(ctx context.Context, kind, handle string) (*store.Factor, error) {
	start := time.Now()
	v, err := ts.st.FactorByHandle(ctx, kind, handle)
	ts.done(callFactorByHandle, start, err)
	return v, err
}

func (ts *timedStore) UseFactor(ctx context.Context, id string, counter int64, at time.Time) error {
	start := time.Now()
	err := ts.st.UseFactor(ctx, id, counter, at)
	ts.done(callUseFactor, start, err)
	return err
}

func (ts *timedStore) RenameFactor(ctx context.Context, userID, id, name string) error {
	start := time.Now()
	err := ts.st.RenameFactor(ctx, userID, id, name)
	ts.done(callRenameFactor, start, err)
	return err
}

func (ts *timedStore) DeleteFactor(ctx context.Context, userID, id string) error {
	start := time.Now()
	err := ts.st.DeleteFactor(ctx, userID, id)
	ts.done(callDeleteFactor, start, err)
	return err
}

func (ts *timedStore) SetRecoveryCodes(ctx context.Context, userID string, hashes []string) error {
	start := time.Now()
	err := ts.st.SetRecoveryCodes(ctx, userID, hashes)
	ts.done(callSetRecoveryCodes, start, err)
	return err
}

func (ts *timedStore) UseRecoveryCode(ctx context.Context, userID, hash string) error {
	start := time.Now()
	err := ts.st.UseRecoveryCode(ctx, userID, hash)
	ts.done(callUseRecoveryCode, start, err)
	return err
}

func (ts *timedStore) RecoveryCodesLeft(ctx context.Context, userID string) (int, error) {
	start := time.Now()
	v, err := ts.st.RecoveryCodesLeft(ctx, userID)
	ts.done(callRecoveryCodesLeft, start, err)
	return v, err
}

func (ts *timedStore) RememberBrowser(ctx context.Context, b *store.RememberedBrowser) error {
	start := time.Now()
	err := ts.st.RememberBrowser(ctx, b)
	ts.done(callRememberBrowser, start, err)
	return err
}

func (ts *timedStore) UseRememberedBrowser(ctx context.Context, id, userID string, now time.Time, slide time.Duration) error {
	start := time.Now()
	err := ts.st.UseRememberedBrowser(ctx, id, userID, now, slide)
	ts.done(callUseRememberedBrowser, start, err)
	return err
}

func (ts *timedStore) ListRememberedBrowsers(ctx context.Context, userID string, now time.Time) ([]*store.RememberedBrowser, error) {
	start := time.Now()
	v, err := ts.st.ListRememberedBrowsers(ctx, userID, now)
	ts.done(callListRememberedBrowsers, start, err)
	return v, err
}

func (ts *timedStore) ForgetBrowser(ctx context.Context, userID, id string) error {
	start := time.Now()
	err := ts.st.ForgetBrowser(ctx, userID, id)
	ts.done(callForgetBrowser, start, err)
	return err
}

func (ts *timedStore) DeleteExpiredBrowsers(ctx context.Context, now time.Time) (int, error) {
	start := time.Now()
	v, err := ts.st.DeleteExpiredBrowsers(ctx, now)
	ts.done(callDeleteExpiredBrowsers, start, err)
	return v, err
}

func (ts *timedStore) ResetTwoStep(ctx context.Context, userID string) error {
	start := time.Now()
	err := ts.st.ResetTwoStep(ctx, userID)
	ts.done(callResetTwoStep, start, err)
	return err
}

func (ts *timedStore) SearchUsers(ctx context.Context, q store.UserQuery) (*store.UserPage, error) {
	start := time.Now()
	v, err := ts.st.SearchUsers(ctx, q)
	ts.done(callSearchUsers, start, err)
	return v, err
}

func (ts *timedStore) UsersByIDPrefix(ctx context.Context, prefix string) ([]*store.User, error) {
	start := time.Now()
	v, err := ts.st.UsersByIDPrefix(ctx, prefix)
	ts.done(callUsersByIDPrefix, start, err)
	return v, err
}

func (ts *timedStore) DeleteUser(ctx context.Context, id string) error {
	start := time.Now()
	err := ts.st.DeleteUser(ctx, id)
	ts.done(callDeleteUser, start, err)
	return err
}

func (ts *timedStore) Settings(ctx context.Context) ([]*store.Setting, error) {
	start := time.Now()
	v, err := ts.st.Settings(ctx)
	ts.done(callSettings, start, err)
	return v, err
}

func (ts *timedStore) SetSetting(ctx context.Context, s *store.Setting) error {
	start := time.Now()
	err := ts.st.SetSetting(ctx, s)
	ts.done(callSetSetting, start, err)
	return err
}

func (ts *timedStore) ListTickets(ctx context.Context, purpose string, now time.Time) ([]*store.Ticket, error) {
	start := time.Now()
	v, err := ts.st.ListTickets(ctx, purpose, now)
	ts.done(callListTickets, start, err)
	return v, err
}

func (ts *timedStore) DeleteTickets(ctx context.Context, purpose, userID string) (int, error) {
	start := time.Now()
	v, err := ts.st.DeleteTickets(ctx, purpose, userID)
	ts.done(callDeleteTickets, start, err)
	return v, err
}

func (ts *timedStore) AddDevice(ctx context.Context, d *store.ApprovedDevice) error {
	start := time.Now()
	err := ts.st.AddDevice(ctx, d)
	ts.done(callAddDevice, start, err)
	return err
}

func (ts *timedStore) UseDevice(ctx context.Context, id, userID string, at time.Time) error {
	start := time.Now()
	err := ts.st.UseDevice(ctx, id, userID, at)
	ts.done(callUseDevice, start, err)
	return err
}

func (ts *timedStore) ListDevices(ctx context.Context, userID string) ([]*store.ApprovedDevice, error) {
	start := time.Now()
	v, err := ts.st.ListDevices(ctx, userID)
	ts.done(callListDevices, start, err)
	return v, err
}

func (ts *timedStore) DeleteDevice(ctx context.Context, userID, id string) error {
	start := time.Now()
	err := ts.st.DeleteDevice(ctx, userID, id)
	ts.done(callDeleteDevice, start, err)
	return err
}

func (ts *timedStore) Ping(ctx context.Context) error {
	start := time.Now()
	err := ts.st.Ping(ctx)
	ts.done(callPing, start, err)
	return err
}

func (ts *timedStore) Close() error {
	start := time.Now()
	err := ts.st.Close()
	ts.done(callClose, start, err)
	return err
}

func (ts *timedStore) CreateOAuthToken(ctx context.Context, t *store.OAuthToken) error {
	start := time.Now()
	err := ts.st.CreateOAuthToken(ctx, t)
	ts.done(callCreateOAuthToken, start, err)
	return err
}

func (ts *timedStore) GetOAuthToken(ctx context.Context, id string) (*store.OAuthToken, error) {
	start := time.Now()
	v, err := ts.st.GetOAuthToken(ctx, id)
	ts.done(callGetOAuthToken, start, err)
	return v, err
}

func (ts *timedStore) RotateRefreshToken(ctx context.Context, id string, next *store.OAuthToken, now time.Time) (*store.OAuthToken, error) {
	start := time.Now()
	v, err := ts.st.RotateRefreshToken(ctx, id, next, now)
	ts.done(callRotateRefreshToken, start, err)
	return v, err
}

func (ts *timedStore) DeleteOAuthTokens(ctx context.Context, f store.OAuthTokenFilter) (int, error) {
	start := time.Now()
	n, err := ts.st.DeleteOAuthTokens(ctx, f)
	ts.done(callDeleteOAuthTokens, start, err)
	return n, err
}

func (ts *timedStore) DeleteExpiredOAuthTokens(ctx context.Context, now time.Time) (int, error) {
	start := time.Now()
	n, err := ts.st.DeleteExpiredOAuthTokens(ctx, now)
	ts.done(callDeleteExpiredOAuthTokens, start, err)
	return n, err
}

func (ts *timedStore) AddSessionClient(ctx context.Context, c *store.SessionClient) error {
	start := time.Now()
	err := ts.st.AddSessionClient(ctx, c)
	ts.done(callAddSessionClient, start, err)
	return err
}

func (ts *timedStore) ListSessionClients(ctx context.Context, sessionID string) ([]*store.SessionClient, error) {
	start := time.Now()
	v, err := ts.st.ListSessionClients(ctx, sessionID)
	ts.done(callListSessionClients, start, err)
	return v, err
}

func (ts *timedStore) DeleteSessionClients(ctx context.Context, sessionID string) error {
	start := time.Now()
	err := ts.st.DeleteSessionClients(ctx, sessionID)
	ts.done(callDeleteSessionClients, start, err)
	return err
}

func (ts *timedStore) DeleteExpiredSessionClients(ctx context.Context, now time.Time) (int, error) {
	start := time.Now()
	n, err := ts.st.DeleteExpiredSessionClients(ctx, now)
	ts.done(callDeleteExpiredSessionClients, start, err)
	return n, err
}

func (ts *timedStore) MoveSessionClients(ctx context.Context, from, to string) error {
	start := time.Now()
	err := ts.st.MoveSessionClients(ctx, from, to)
	ts.done(callMoveSessionClients, start, err)
	return err
}
