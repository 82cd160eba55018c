package studiotest_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/minis-gg/studio-worker/worker/protocol"
	"github.com/minis-gg/studio-worker/worker/studiotest"
)

// failsafe bounds every wait so a broken studio fails the test instead of
// hanging it; no assertion depends on it.
const failsafe = 10 * time.Second

func startStudio(t *testing.T, opts studiotest.Options) *studiotest.Studio {
	t.Helper()
	if opts.Logf == nil {
		opts.Logf = t.Logf
	}
	s := studiotest.New(opts)
	if _, err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), failsafe)
	t.Cleanup(cancel)
	return ctx
}

func api(s *studiotest.Studio, path string) string {
	return s.URL() + strings.TrimPrefix(protocol.APIPrefix, "/") + path
}

// ---- HTTP helpers ----

func doJSON(t *testing.T, req *http.Request) (int, map[string]any) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("%s %s: decode answer: %v", req.Method, req.URL, err)
	}
	return resp.StatusCode, body
}

type registration struct {
	InstallID              string `json:"installId"`
	RegistrationSecretHash string `json:"registrationSecretHash"`
	Capabilities           any    `json:"capabilities"`
	UserAgent              string `json:"userAgent"`
}

func validRegistration(installID, secret string) registration {
	sum := sha256.Sum256([]byte(secret))
	return registration{
		InstallID:              installID,
		RegistrationSecretHash: hex.EncodeToString(sum[:]),
		Capabilities:           protocol.Capabilities{MachineName: "box", AutoEnabled: true, TaskKinds: []protocol.TaskKind{protocol.KindLLM}},
		UserAgent:              "studio-worker/1.2.3",
	}
}

func register(t *testing.T, s *studiotest.Studio, body any) (int, map[string]any) {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, api(s, "/workers/register-request"), bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	return doJSON(t, req)
}

func mustRegister(t *testing.T, s *studiotest.Studio, installID, secret string) string {
	t.Helper()
	status, body := register(t, s, validRegistration(installID, secret))
	if status != http.StatusOK || body["status"] != "pending" {
		t.Fatalf("register %s: %d %v", installID, status, body)
	}
	return body["requestId"].(string)
}

func poll(t *testing.T, s *studiotest.Studio, requestID, authorization string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, api(s, "/workers/register-requests/"+requestID), nil)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	return doJSON(t, req)
}

type uploadReq struct {
	workerID, jobID, token string
	prompt, ext            string
	field, filename, ctype string
	data                   []byte
}

func upload(t *testing.T, s *studiotest.Studio, u uploadReq) int {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("prompt", u.prompt)
	_ = mw.WriteField("ext", u.ext)
	h := make(textproto.MIMEHeader)
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename=%q`, u.field, u.filename))
	h.Set("Content-Type", u.ctype)
	pw, err := mw.CreatePart(h)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = pw.Write(u.data)
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, api(s, "/workers/"+u.workerID+"/jobs/"+u.jobID+"/complete"), &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+u.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode
}

func imageUpload(workerID, jobID, token string) uploadReq {
	return uploadReq{
		workerID: workerID, jobID: jobID, token: token,
		prompt: "a full prompt that is not a preview", ext: "png",
		field: "image", filename: jobID + ".png", ctype: "image/png",
		data: []byte("\x89PNG fake bytes"),
	}
}

// ---- WebSocket client ----

type client struct {
	t    *testing.T
	conn *websocket.Conn
}

func dial(s *studiotest.Studio, workerID, token string, subprotocol bool) (*websocket.Conn, *http.Response, error) {
	u := "ws" + strings.TrimPrefix(api(s, "/workers/"+workerID+"/connect"), "http")
	d := websocket.Dialer{HandshakeTimeout: failsafe}
	if subprotocol {
		d.Subprotocols = []string{protocol.Subprotocol}
	}
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	return d.Dial(u, h)
}

func connect(t *testing.T, s *studiotest.Studio, workerID, token string) *client {
	t.Helper()
	conn, resp, err := dial(s, workerID, token, true)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial: %v (status %d)", err, status)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return &client{t: t, conn: conn}
}

// welcomed connects and completes the hello/welcome handshake.
func welcomed(t *testing.T, s *studiotest.Studio, workerID, token string) *client {
	t.Helper()
	c := connect(t, s, workerID, token)
	c.send(&protocol.Hello{AuthToken: token, Capabilities: protocol.Capabilities{AgentVersion: "test"}})
	w := expect[*protocol.Welcome](c)
	if w.WorkerID != workerID {
		t.Fatalf("welcome for %q, want %q", w.WorkerID, workerID)
	}
	return c
}

func (c *client) send(f protocol.WorkerFrame) {
	c.t.Helper()
	b, err := protocol.Encode(f)
	if err != nil {
		c.t.Fatal(err)
	}
	c.sendRaw(websocket.TextMessage, b)
}

func (c *client) sendRaw(mt int, b []byte) {
	c.t.Helper()
	if err := c.conn.WriteMessage(mt, b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

func (c *client) read() (protocol.ServerFrame, error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(failsafe))
	_, b, err := c.conn.ReadMessage()
	if err != nil {
		return nil, err
	}
	return protocol.DecodeServer(b)
}

func (c *client) heartbeat(autoEnabled bool) {
	c.t.Helper()
	c.send(&protocol.Heartbeat{Capabilities: protocol.Capabilities{AutoEnabled: autoEnabled}})
	expect[*protocol.HeartbeatAck](c)
}

func expect[F protocol.ServerFrame](c *client) F {
	c.t.Helper()
	f, err := c.read()
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	got, ok := f.(F)
	if !ok {
		c.t.Fatalf("got %T %+v, want %T", f, f, *new(F))
	}
	return got
}

// expectClose reads until the studio's close frame and checks its code.
func (c *client) expectClose(code int) *websocket.CloseError {
	c.t.Helper()
	for {
		f, err := c.read()
		if err == nil {
			c.t.Logf("frame before close: %T", f)
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) {
			c.t.Fatalf("read: %v, want close %d", err, code)
		}
		if ce.Code != code {
			c.t.Fatalf("closed with %d %q, want %d", ce.Code, ce.Text, code)
		}
		return ce
	}
}

// expectViolation checks the studio's protocol_violation error and close.
func (c *client) expectViolation(contains string) {
	c.t.Helper()
	e := expect[*protocol.Error](c)
	if e.Code != protocol.ErrProtocolViolation || !strings.Contains(e.Message, contains) {
		c.t.Fatalf("error %q %q, want protocol_violation containing %q", e.Code, e.Message, contains)
	}
	c.expectClose(int(protocol.CloseProtocolViolation))
}

// ---- registration ----

func TestRegisterValidation(t *testing.T) {
	t.Parallel()
	s := startStudio(t, studiotest.Options{})
	mut := func(f func(*registration)) registration {
		r := validRegistration("install-1", "secret")
		f(&r)
		return r
	}
	tests := []struct {
		name string
		body any
		want int
	}{
		{"valid", validRegistration("install-ok", "secret"), 200},
		{"empty installId", mut(func(r *registration) { r.InstallID = "" }), 400},
		{"short hash", mut(func(r *registration) { r.RegistrationSecretHash = "abc" }), 400},
		{"upper-case hash", mut(func(r *registration) { r.RegistrationSecretHash = strings.ToUpper(r.RegistrationSecretHash) }), 400},
		{"non-hex hash", mut(func(r *registration) { r.RegistrationSecretHash = strings.Repeat("g", 64) }), 400},
		{"no capabilities", mut(func(r *registration) { r.Capabilities = nil }), 400},
		{"capabilities not an object", mut(func(r *registration) { r.Capabilities = []string{"x"} }), 400},
		{"bad user agent", mut(func(r *registration) { r.UserAgent = "curl/8" }), 400},
		{"not json", "just a string", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := register(t, s, tt.body)
			if status != tt.want {
				t.Fatalf("status %d %v, want %d", status, body, tt.want)
			}
			if status == 400 && body["error"] == nil {
				t.Fatalf("400 without a JSON error: %v", body)
			}
		})
	}
	recs := s.RegisterRequests()
	if len(recs) != len(tests) {
		t.Fatalf("%d records, want %d", len(recs), len(tests))
	}
	if recs[0].RequestID == "" || recs[0].Capabilities.MachineName != "box" || recs[0].UserAgent != "studio-worker/1.2.3" {
		t.Fatalf("valid request recorded as %+v", recs[0])
	}
}

func TestRegistrationLifecycle(t *testing.T) {
	t.Parallel()
	s := startStudio(t, studiotest.Options{WorkerID: "w-7"})

	rr1 := mustRegister(t, s, "install-a", "secret-a")
	if again := mustRegister(t, s, "install-a", "secret-a"); again != rr1 {
		t.Fatalf("same installId got %s, want the existing %s", again, rr1)
	}
	rr2 := mustRegister(t, s, "install-b", "secret-b")
	if rr2 == rr1 {
		t.Fatalf("two installs share request %s", rr1)
	}

	tests := []struct {
		name, id, auth string
		want           int
	}{
		{"right secret", rr1, "Bearer secret-a", 200},
		{"wrong secret", rr1, "Bearer secret-b", 401},
		{"hash instead of secret", rr1, "Bearer " + validRegistration("", "secret-a").RegistrationSecretHash, 401},
		{"no authorization", rr1, "", 401},
		{"unknown request", "rr-999", "Bearer secret-a", 404},
	}
	for _, tt := range tests {
		status, body := poll(t, s, tt.id, tt.auth)
		if status != tt.want {
			t.Errorf("%s: status %d %v, want %d", tt.name, status, body, tt.want)
		}
		if status == 200 && body["status"] != "pending" {
			t.Errorf("%s: %v, want pending", tt.name, body)
		}
	}
	if p := s.Polls(); len(p) != len(tests) || p[0].Authorization != "Bearer secret-a" || p[0].RequestID != rr1 || p[1].Status != 401 {
		t.Fatalf("polls recorded as %+v", p)
	}

	if err := s.Approve(rr1); err != nil {
		t.Fatal(err)
	}
	_, first := poll(t, s, rr1, "Bearer secret-a")
	_, second := poll(t, s, rr1, "Bearer secret-a")
	if first["status"] != "approved" || first["workerId"] != "w-7" || first["authToken"] == "" {
		t.Fatalf("approved poll: %v", first)
	}
	if second["workerId"] != "w-7" || second["authToken"] == first["authToken"] {
		t.Fatalf("second approved poll must mint a fresh token: %v then %v", first, second)
	}
	if tok, ok := s.WorkerToken("w-7"); !ok || tok != second["authToken"] {
		t.Fatalf("WorkerToken = %q, %v; want the last minted", tok, ok)
	}
	// Only the newest token opens a session.
	if _, resp, err := dial(s, "w-7", first["authToken"].(string), true); err == nil || resp.StatusCode != 401 {
		t.Fatalf("dial with a superseded token: %v", err)
	}
	welcomed(t, s, "w-7", second["authToken"].(string))

	if err := s.Reject(rr2, "not on our list"); err != nil {
		t.Fatal(err)
	}
	if _, body := poll(t, s, rr2, "Bearer secret-b"); body["status"] != "rejected" || body["reason"] != "not on our list" {
		t.Fatalf("rejected poll: %v", body)
	}

	if err := s.Forget(rr1); err != nil {
		t.Fatal(err)
	}
	if status, _ := poll(t, s, rr1, "Bearer secret-a"); status != 404 {
		t.Fatalf("poll of a forgotten request: %d, want 404", status)
	}
	for name, err := range map[string]error{
		"approve": s.Approve("rr-999"),
		"reject":  s.Reject("rr-999", ""),
		"forget":  s.Forget("rr-999"),
	} {
		if !errors.Is(err, studiotest.ErrUnknownRequest) {
			t.Errorf("%s unknown: %v, want ErrUnknownRequest", name, err)
		}
	}

	// A later approval gets the next counter id.
	rr3 := mustRegister(t, s, "install-c", "secret-c")
	if err := s.Approve(rr3); err != nil {
		t.Fatal(err)
	}
	if _, body := poll(t, s, rr3, "Bearer secret-c"); body["workerId"] != "w-2" {
		t.Fatalf("second worker id: %v", body)
	}
}

func TestRegisterRetryWithNewSecretKeepsRequest(t *testing.T) {
	t.Parallel()
	s := startStudio(t, studiotest.Options{})
	rr := mustRegister(t, s, "install-a", "old-secret")
	if again := mustRegister(t, s, "install-a", "new-secret"); again != rr {
		t.Fatalf("got %s, want %s", again, rr)
	}
	if status, _ := poll(t, s, rr, "Bearer new-secret"); status != 200 {
		t.Fatalf("poll with the newest secret: %d", status)
	}
	if status, _ := poll(t, s, rr, "Bearer old-secret"); status != 401 {
		t.Fatalf("poll with the replaced secret: %d, want 401", status)
	}
}

func TestAutoApprove(t *testing.T) {
	t.Parallel()
	s := startStudio(t, studiotest.Options{AutoApprove: true})
	rr := mustRegister(t, s, "install-a", "secret")
	_, body := poll(t, s, rr, "Bearer secret")
	if body["status"] != "approved" || body["workerId"] != "w-1" || body["authToken"] == "" {
		t.Fatalf("first poll: %v", body)
	}
	if status, wid, ok := s.RequestStatus(rr); !ok || status != studiotest.RegApproved || wid != "w-1" {
		t.Fatalf("RequestStatus = %q %q %v", status, wid, ok)
	}
}

func TestFailRegisterRequests(t *testing.T) {
	t.Parallel()
	s := startStudio(t, studiotest.Options{})
	s.FailRegisterRequests(2, http.StatusServiceUnavailable)
	var got []int
	for range 3 {
		status, _ := register(t, s, validRegistration("install-a", "secret"))
		got = append(got, status)
	}
	if fmt.Sprint(got) != "[503 503 200]" {
		t.Fatalf("statuses %v, want [503 503 200]", got)
	}
	if err := s.WaitRegisterRequest(testCtx(t), 3); err != nil {
		t.Fatal(err)
	}
	recs := s.RegisterRequests()
	if recs[0].Status != 503 || recs[0].RequestID != "" || recs[0].InstallID != "install-a" || recs[2].RequestID == "" {
		t.Fatalf("records %+v", recs)
	}
}

// ---- session ----

func TestUpgradeRefused(t *testing.T) {
	t.Parallel()
	s := startStudio(t, studiotest.Options{})
	s.AddWorker("w-1", "tok")
	tests := []struct {
		name, worker, token string
		subprotocol         bool
		want                int
	}{
		{"no token", "w-1", "", true, 401},
		{"wrong token", "w-1", "nope", true, 401},
		{"unknown worker", "w-9", "tok", true, 401},
		{"no sub-protocol", "w-1", "tok", false, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, resp, err := dial(s, tt.worker, tt.token, tt.subprotocol)
			if err == nil {
				_ = conn.Close()
				t.Fatal("upgrade succeeded")
			}
			if resp == nil || resp.StatusCode != tt.want {
				t.Fatalf("dial: %v, want HTTP %d", err, tt.want)
			}
		})
	}
	s.RejectUpgrades(http.StatusServiceUnavailable)
	if _, resp, err := dial(s, "w-1", "tok", true); err == nil || resp.StatusCode != 503 {
		t.Fatalf("with RejectUpgrades(503): %v", err)
	}
	s.RejectUpgrades(0)
	c := connect(t, s, "w-1", "tok")
	if c.conn.Subprotocol() != protocol.Subprotocol {
		t.Fatalf("negotiated sub-protocol %q", c.conn.Subprotocol())
	}
	if got := s.UpgradeAttempts(); got != len(tests)+2 {
		t.Fatalf("UpgradeAttempts = %d, want %d", got, len(tests)+2)
	}
	// The studio registers a session just after the upgrade answer.
	if err := s.WaitSessions(testCtx(t), 1); err != nil {
		t.Fatal(err)
	}
	if s.Sessions() != 1 {
		t.Fatalf("Sessions = %d, want 1 (refused upgrades are not sessions)", s.Sessions())
	}
}

func TestHelloWelcome(t *testing.T) {
	t.Parallel()
	s := startStudio(t, studiotest.Options{})
	s.AddWorker("w-1", "tok")
	if s.Connected() {
		t.Fatal("connected before any session")
	}
	c := connect(t, s, "w-1", "tok")
	c.send(&protocol.Hello{AuthToken: "tok", Capabilities: protocol.Capabilities{MachineName: "box"}})
	w := expect[*protocol.Welcome](c)
	if w.WorkerID != "w-1" {
		t.Fatalf("welcome %+v", w)
	}
	if _, err := time.Parse(time.RFC3339, w.ServerTime); err != nil {
		t.Fatalf("serverTime %q: %v", w.ServerTime, err)
	}
	if !s.Connected() || s.Sessions() != 1 {
		t.Fatalf("Connected=%v Sessions=%d", s.Connected(), s.Sessions())
	}
	if caps, ok := s.Capabilities("w-1"); !ok || caps.MachineName != "box" {
		t.Fatalf("Capabilities = %+v, %v", caps, ok)
	}
	frames := s.Frames()
	if len(frames) != 2 || frames[0].Dir != studiotest.FromWorker || frames[0].Type != protocol.TypeHello ||
		frames[1].Dir != studiotest.ToWorker || frames[1].Type != protocol.TypeWelcome || frames[1].Session != 1 {
		t.Fatalf("recorded %+v", frames)
	}
	if h, ok := frames[0].Frame.(*protocol.Hello); !ok || h.AuthToken != "tok" {
		t.Fatalf("hello decoded as %#v", frames[0].Frame)
	}
}

func TestHelloWrongToken(t *testing.T) {
	t.Parallel()
	s := startStudio(t, studiotest.Options{})
	s.AddWorker("w-1", "tok")
	c := connect(t, s, "w-1", "tok")
	c.send(&protocol.Hello{AuthToken: "other"})
	if e := expect[*protocol.Error](c); e.Code != protocol.ErrAuthFailed {
		t.Fatalf("error %+v, want auth_failed", e)
	}
	c.expectClose(int(protocol.CloseAuthFailed))
	if s.Connected() {
		t.Fatal("still connected")
	}
}

func TestFrameBeforeHello(t *testing.T) {
	t.Parallel()
	s := startStudio(t, studiotest.Options{})
	s.AddWorker("w-1", "tok")
	hb, _ := protocol.Encode(&protocol.Heartbeat{})
	accept, _ := protocol.Encode(&protocol.Accept{JobID: "j"})
	tests := []struct {
		name string
		mt   int
		data []byte
		want string
	}{
		{"heartbeat", websocket.TextMessage, hb, "heartbeat before hello"},
		{"accept", websocket.TextMessage, accept, "accept before hello"},
		{"unparseable", websocket.TextMessage, []byte("{nope"), "unparseable"},
		{"unknown type", websocket.TextMessage, []byte(`{"type":"bogus"}`), "unparseable"},
		{"binary", websocket.BinaryMessage, []byte{1, 2, 3}, "binary"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := connect(t, s, "w-1", "tok")
			c.sendRaw(tt.mt, tt.data)
			c.expectViolation(tt.want)
		})
	}
	var binary bool
	for _, r := range s.Frames() {
		binary = binary || (r.Binary && r.Dir == studiotest.FromWorker && bytes.Equal(r.Raw, []byte{1, 2, 3}))
	}
	if !binary {
		t.Fatal("binary frame not recorded")
	}
}

func TestHeartbeatAck(t *testing.T) {
	t.Parallel()
	s := startStudio(t, studiotest.Options{})
	s.AddWorker("w-1", "tok")
	c := welcomed(t, s, "w-1", "tok")
	c.send(&protocol.Heartbeat{Capabilities: protocol.Capabilities{VRAMThresholdGb: 7}, CurrentJobID: "j"})
	expect[*protocol.HeartbeatAck](c)
	if caps, _ := s.Capabilities("w-1"); caps.VRAMThresholdGb != 7 {
		t.Fatalf("heartbeat capabilities not kept: %+v", caps)
	}
}

func TestOfferAcceptComplete(t *testing.T) {
	t.Parallel()
	s := startStudio(t, studiotest.Options{})
	s.AddWorker("w-1", "tok")
	c := welcomed(t, s, "w-1", "tok")

	if err := s.Offer(studiotest.SyntheticClaim("j1", protocol.KindLLM, "tell me")); err != nil {
		t.Fatal(err)
	}
	if o := expect[*protocol.Offer](c); o.Claim.JobID != "j1" || o.Claim.Task.Prompt() != "tell me" {
		t.Fatalf("offer %+v", o.Claim)
	}
	if st, _ := s.Job("j1"); st.Status != studiotest.StatusOffered || st.Session != 1 || st.WorkerID != "w-1" {
		t.Fatalf("after offer: %+v", st)
	}
	c.send(&protocol.Accept{JobID: "j1"})
	if _, err := s.WaitJob(testCtx(t), "j1", studiotest.StatusAccepted); err != nil {
		t.Fatal(err)
	}
	c.send(&protocol.CompleteJSON{JobID: "j1", Result: json.RawMessage(`{"text":"hi"}`), Prompt: "tell me"})
	if a := expect[*protocol.CompleteAck](c); a.JobID != "j1" {
		t.Fatalf("ack %+v", a)
	}
	st, _ := s.Job("j1")
	if st.Status != studiotest.StatusCompleted || string(st.Result) != `{"text":"hi"}` || st.Prompt != "tell me" {
		t.Fatalf("after completeJson: %+v", st)
	}

	if err := s.Offer(studiotest.SyntheticClaim("j2", protocol.KindLLM, "x")); err != nil {
		t.Fatal(err)
	}
	expect[*protocol.Offer](c)
	c.send(&protocol.Accept{JobID: "j2"})
	c.send(&protocol.Fail{JobID: "j2", Error: "boom", Retryable: true})
	if a := expect[*protocol.FailAck](c); a.JobID != "j2" {
		t.Fatalf("ack %+v", a)
	}
	if st, _ := s.Job("j2"); st.Status != studiotest.StatusFailed || st.Error != "boom" || !st.Retryable {
		t.Fatalf("after fail: %+v", st)
	}

	if err := s.Offer(studiotest.SyntheticClaim("j3", protocol.KindLLM, "x")); err != nil {
		t.Fatal(err)
	}
	expect[*protocol.Offer](c)
	c.send(&protocol.Reject{JobID: "j3", Reason: protocol.ReasonBusy, Code: protocol.RejectBusy})
	c.send(&protocol.Reject{JobID: "never-offered", Reason: "x"}) // ignored, not a violation
	c.heartbeat(true)
	if st, _ := s.Job("j3"); st.Status != studiotest.StatusRejected || st.RejectCode != "busy" || st.RejectReason != protocol.ReasonBusy {
		t.Fatalf("after reject: %+v", st)
	}
}

func TestOfferWithoutSession(t *testing.T) {
	t.Parallel()
	s := startStudio(t, studiotest.Options{})
	s.AddWorker("w-1", "tok")
	if err := s.Offer(studiotest.SyntheticClaim("j1", protocol.KindLLM, "x")); !errors.Is(err, studiotest.ErrNoSession) {
		t.Fatalf("offer with no session: %v", err)
	}
	connect(t, s, "w-1", "tok")
	if err := s.Offer(studiotest.SyntheticClaim("j1", protocol.KindLLM, "x")); !errors.Is(err, studiotest.ErrNoSession) {
		t.Fatalf("offer before welcome: %v", err)
	}
}

func TestUnknownJobIsViolation(t *testing.T) {
	t.Parallel()
	s := startStudio(t, studiotest.Options{})
	s.AddWorker("w-1", "tok")
	offer := func(c *client, id string) {
		t.Helper()
		if err := s.Offer(studiotest.SyntheticClaim(id, protocol.KindLLM, "x")); err != nil {
			t.Fatal(err)
		}
		expect[*protocol.Offer](c)
	}
	tests := []struct {
		name  string
		setup func(c *client, id string)
		frame func(id string) protocol.WorkerFrame
		want  string
	}{
		{"accept never offered", nil,
			func(id string) protocol.WorkerFrame { return &protocol.Accept{JobID: id} }, "accept for unknown jobId"},
		{"completeJson never offered", nil,
			func(id string) protocol.WorkerFrame {
				return &protocol.CompleteJSON{JobID: id, Result: json.RawMessage(`{}`)}
			},
			"completeJson for unknown jobId"},
		{"fail never offered", nil,
			func(id string) protocol.WorkerFrame { return &protocol.Fail{JobID: id, Error: "e"} }, "fail for unknown jobId"},
		{"completeJson twice", func(c *client, id string) {
			offer(c, id)
			c.send(&protocol.Accept{JobID: id})
			c.send(&protocol.CompleteJSON{JobID: id, Result: json.RawMessage(`{}`)})
			expect[*protocol.CompleteAck](c)
		}, func(id string) protocol.WorkerFrame {
			return &protocol.CompleteJSON{JobID: id, Result: json.RawMessage(`{}`)}
		},
			"completeJson for unknown jobId"},
		{"accept after reject", func(c *client, id string) {
			offer(c, id)
			c.send(&protocol.Reject{JobID: id, Reason: "paused", Code: protocol.RejectPaused})
		}, func(id string) protocol.WorkerFrame { return &protocol.Accept{JobID: id} }, "accept for unknown jobId"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := welcomed(t, s, "w-1", "tok")
			id := fmt.Sprintf("job-%d", i)
			if tt.setup != nil {
				tt.setup(c, id)
			}
			c.send(tt.frame(id))
			c.expectViolation(tt.want)
		})
	}
}

func TestJobBelongsToItsSession(t *testing.T) {
	t.Parallel()
	s := startStudio(t, studiotest.Options{})
	s.AddWorker("w-1", "tok")
	c1 := welcomed(t, s, "w-1", "tok")
	if err := s.Offer(studiotest.SyntheticClaim("j1", protocol.KindImage, "x")); err != nil {
		t.Fatal(err)
	}
	expect[*protocol.Offer](c1)
	c1.send(&protocol.Accept{JobID: "j1"})
	if _, err := s.WaitJob(testCtx(t), "j1", studiotest.StatusAccepted); err != nil {
		t.Fatal(err)
	}
	_ = c1.conn.Close()
	if _, err := s.WaitJob(testCtx(t), "j1", studiotest.StatusReleased); err != nil {
		t.Fatal(err)
	}
	if status := upload(t, s, imageUpload("w-1", "j1", "tok")); status != http.StatusConflict {
		t.Fatalf("upload after the session ended: %d, want 409", status)
	}
	c2 := welcomed(t, s, "w-1", "tok")
	c2.send(&protocol.CompleteJSON{JobID: "j1", Result: json.RawMessage(`{}`)})
	c2.expectViolation("unknown jobId j1")
}

func TestNewerConnectionClosesOlder(t *testing.T) {
	t.Parallel()
	s := startStudio(t, studiotest.Options{})
	s.AddWorker("w-1", "tok")
	c1 := welcomed(t, s, "w-1", "tok")
	c2 := connect(t, s, "w-1", "tok")
	c1.expectClose(int(protocol.CloseDuplicateWorker))
	c2.send(&protocol.Hello{AuthToken: "tok"})
	expect[*protocol.Welcome](c2)
	if s.Sessions() != 2 || !s.Connected() {
		t.Fatalf("Sessions=%d Connected=%v", s.Sessions(), s.Connected())
	}
	if _, err := s.WaitFrame(testCtx(t), func(r studiotest.Recorded) bool {
		return r.Session == 1 && r.Dir == studiotest.ToWorker && r.Type == studiotest.TypeClose && r.CloseCode == 4003
	}); err != nil {
		t.Fatal(err)
	}
}

// ---- uploads ----

func acceptedJob(t *testing.T, s *studiotest.Studio, c *client, id string) {
	t.Helper()
	if err := s.Offer(studiotest.SyntheticClaim(id, protocol.KindImage, "a cat")); err != nil {
		t.Fatal(err)
	}
	expect[*protocol.Offer](c)
	c.send(&protocol.Accept{JobID: id})
	if _, err := s.WaitJob(testCtx(t), id, studiotest.StatusAccepted); err != nil {
		t.Fatal(err)
	}
}

func TestUpload(t *testing.T) {
	t.Parallel()
	s := startStudio(t, studiotest.Options{})
	s.AddWorker("w-1", "tok")
	c := welcomed(t, s, "w-1", "tok")

	if status := upload(t, s, imageUpload("w-1", "j0", "tok")); status != http.StatusConflict {
		t.Fatalf("upload for a job never offered: %d, want 409", status)
	}
	if err := s.Offer(studiotest.SyntheticClaim("j1", protocol.KindImage, "a cat")); err != nil {
		t.Fatal(err)
	}
	expect[*protocol.Offer](c)
	c.send(&protocol.Accept{JobID: "j1"})
	if _, err := s.WaitJob(testCtx(t), "j1", studiotest.StatusAccepted); err != nil {
		t.Fatal(err)
	}
	if status := upload(t, s, imageUpload("w-1", "j1", "wrong")); status != http.StatusUnauthorized {
		t.Fatalf("upload with a wrong token: %d, want 401", status)
	}
	want := imageUpload("w-1", "j1", "tok")
	if status := upload(t, s, want); status != http.StatusOK {
		t.Fatalf("upload: %d", status)
	}
	got, err := s.WaitUpload(testCtx(t), "j1")
	if err != nil {
		t.Fatal(err)
	}
	if got.WorkerID != "w-1" || got.JobID != "j1" || got.Prompt != want.prompt || got.Ext != "png" ||
		got.FieldName != "image" || got.Filename != "j1.png" || got.ContentType != "image/png" ||
		!bytes.Equal(got.Data, want.data) || got.Authorization != "Bearer tok" {
		t.Fatalf("recorded upload %+v", got)
	}
	if st, _ := s.Job("j1"); st.Status != studiotest.StatusCompleted || st.Prompt != want.prompt {
		t.Fatalf("job after upload: %+v", st)
	}
	if status := upload(t, s, want); status != http.StatusConflict {
		t.Fatalf("second upload of a finished job: %d, want 409", status)
	}
	if n := s.UploadAttempts("j1"); n != 3 {
		t.Fatalf("UploadAttempts = %d, want 3", n)
	}
	if n := len(s.Uploads()); n != 1 {
		t.Fatalf("%d uploads recorded, want 1", n)
	}
}

func TestUploadWithoutImagePart(t *testing.T) {
	t.Parallel()
	s := startStudio(t, studiotest.Options{})
	s.AddWorker("w-1", "tok")
	c := welcomed(t, s, "w-1", "tok")
	acceptedJob(t, s, c, "j1")
	u := imageUpload("w-1", "j1", "tok")
	u.field = "file"
	if status := upload(t, s, u); status != http.StatusBadRequest {
		t.Fatalf("upload without an image part: %d, want 400", status)
	}
}

func TestFailUploads(t *testing.T) {
	t.Parallel()
	s := startStudio(t, studiotest.Options{})
	s.AddWorker("w-1", "tok")
	c := welcomed(t, s, "w-1", "tok")
	acceptedJob(t, s, c, "j1")
	s.FailUploads(1, http.StatusServiceUnavailable)
	if status := upload(t, s, imageUpload("w-1", "j1", "tok")); status != http.StatusServiceUnavailable {
		t.Fatalf("first upload: %d, want 503", status)
	}
	if len(s.Uploads()) != 0 {
		t.Fatal("failed upload recorded as a success")
	}
	if st, _ := s.Job("j1"); st.Status != studiotest.StatusAccepted {
		t.Fatalf("job after a failed upload: %+v", st)
	}
	if status := upload(t, s, imageUpload("w-1", "j1", "tok")); status != http.StatusOK {
		t.Fatalf("retry: %d, want 200", status)
	}
	if n := s.UploadAttempts("j1"); n != 2 {
		t.Fatalf("UploadAttempts = %d, want 2", n)
	}
	if err := s.WaitUploadAttempts(testCtx(t), "j1", 2); err != nil {
		t.Fatal(err)
	}
}

// ---- misbehaviour ----

func TestSendError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code protocol.ErrorCode
		want int
	}{
		{protocol.ErrAuthFailed, 4001},
		{protocol.ErrProtocolViolation, 4002},
		{protocol.ErrDuplicateWorker, 4003},
		{protocol.ErrWorkerDeleted, 4004},
		{protocol.ErrInternalError, 1000},
	}
	for _, tt := range tests {
		t.Run(string(tt.code), func(t *testing.T) {
			t.Parallel()
			s := startStudio(t, studiotest.Options{})
			s.AddWorker("w-1", "tok")
			c := welcomed(t, s, "w-1", "tok")
			if err := s.SendError(tt.code, "because"); err != nil {
				t.Fatal(err)
			}
			if e := expect[*protocol.Error](c); e.Code != tt.code || e.Message != "because" {
				t.Fatalf("error frame %+v", e)
			}
			c.expectClose(tt.want)
			// The worker's close reply ends the session.
			if _, err := s.WaitFrame(testCtx(t), func(r studiotest.Recorded) bool {
				return r.Dir == studiotest.FromWorker && r.Type == studiotest.TypeClose
			}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestCloseSession(t *testing.T) {
	t.Parallel()
	s := startStudio(t, studiotest.Options{})
	s.AddWorker("w-1", "tok")
	c := welcomed(t, s, "w-1", "tok")
	if err := s.CloseSession(4004, "deleted"); err != nil {
		t.Fatal(err)
	}
	if ce := c.expectClose(4004); ce.Text != "deleted" {
		t.Fatalf("close reason %q", ce.Text)
	}
}

func TestDropConnection(t *testing.T) {
	t.Parallel()
	s := startStudio(t, studiotest.Options{})
	s.AddWorker("w-1", "tok")
	if err := s.DropConnection(); !errors.Is(err, studiotest.ErrNoSession) {
		t.Fatalf("drop without a session: %v", err)
	}
	c := welcomed(t, s, "w-1", "tok")
	if err := s.DropConnection(); err != nil {
		t.Fatal(err)
	}
	// No close frame: gorilla reports the bare EOF as 1006.
	c.expectClose(websocket.CloseAbnormalClosure)
}

func TestGoSilent(t *testing.T) {
	t.Parallel()
	s := startStudio(t, studiotest.Options{})
	s.AddWorker("w-1", "tok")
	c := welcomed(t, s, "w-1", "tok")
	if err := s.GoSilent(true); err != nil {
		t.Fatal(err)
	}
	c.send(&protocol.Heartbeat{CurrentJobID: "silent"})
	// Frames are handled in order: once the log batch is recorded, the
	// heartbeat before it has been handled, silently.
	c.send(&protocol.LogBatch{})
	if _, err := s.WaitFrame(testCtx(t), func(r studiotest.Recorded) bool { return r.Type == protocol.TypeLogBatch }); err != nil {
		t.Fatal(err)
	}
	if err := s.Offer(studiotest.SyntheticClaim("j1", protocol.KindLLM, "x")); !errors.Is(err, studiotest.ErrSilent) {
		t.Fatalf("offer on a silent session: %v", err)
	}
	if err := s.GoSilent(false); err != nil {
		t.Fatal(err)
	}
	c.send(&protocol.Heartbeat{CurrentJobID: "loud"})
	expect[*protocol.HeartbeatAck](c)
	var heartbeats, acks int
	for _, r := range s.Frames() {
		switch {
		case r.Dir == studiotest.FromWorker && r.Type == protocol.TypeHeartbeat:
			heartbeats++
		case r.Dir == studiotest.ToWorker && r.Type == protocol.TypeHeartbeatAck:
			acks++
		}
	}
	if heartbeats != 2 || acks != 1 {
		t.Fatalf("%d heartbeats and %d acks recorded, want 2 and 1", heartbeats, acks)
	}
}

func TestSendRaw(t *testing.T) {
	t.Parallel()
	s := startStudio(t, studiotest.Options{})
	s.AddWorker("w-1", "tok")
	c := welcomed(t, s, "w-1", "tok")
	raw := []byte(`{"type":"offer","claim":{"jobId":"x"}}`)
	if err := s.SendRaw(websocket.TextMessage, raw); err != nil {
		t.Fatal(err)
	}
	_ = c.conn.SetReadDeadline(time.Now().Add(failsafe))
	if _, got, err := c.conn.ReadMessage(); err != nil || !bytes.Equal(got, raw) {
		t.Fatalf("read %q, %v; want %q", got, err, raw)
	}
	if err := s.SendRaw(websocket.BinaryMessage, []byte{9}); err != nil {
		t.Fatal(err)
	}
	frames := s.Frames()
	invalid, binary := frames[len(frames)-2], frames[len(frames)-1]
	if invalid.Type != protocol.TypeOffer || invalid.Frame != nil || !binary.Binary || binary.Dir != studiotest.ToWorker {
		t.Fatalf("recorded %+v and %+v", invalid, binary)
	}
}

// ---- waiting ----

func TestWaitFrameWakesOnFutureFrame(t *testing.T) {
	t.Parallel()
	s := startStudio(t, studiotest.Options{})
	s.AddWorker("w-1", "tok")
	c := welcomed(t, s, "w-1", "tok")

	scanned := make(chan struct{})
	var once sync.Once
	result := make(chan studiotest.Recorded, 1)
	errc := make(chan error, 1)
	go func() {
		r, err := s.WaitFrame(testCtx(t), func(r studiotest.Recorded) bool {
			once.Do(func() { close(scanned) })
			return r.Type == protocol.TypeLogBatch
		})
		result <- r
		errc <- err
	}()
	// The waiter has looked at every frame present (hello, welcome) before
	// the log batch exists, so only a wake-up can find it.
	<-scanned
	entry := protocol.LogEntry{Level: protocol.LevelInfo, Category: "ws", Message: "hello there"}
	c.send(&protocol.LogBatch{Entries: []protocol.LogEntry{entry}})
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	r := <-result
	if lb, ok := r.Frame.(*protocol.LogBatch); !ok || len(lb.Entries) != 1 || lb.Entries[0].Message != "hello there" {
		t.Fatalf("woke with %+v", r)
	}
	if logs := s.Logs(); len(logs) != 1 || logs[0].Category != "ws" {
		t.Fatalf("Logs = %+v", logs)
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.WaitFrame(ctx, func(studiotest.Recorded) bool { return false }); !errors.Is(err, context.Canceled) {
		t.Fatalf("WaitFrame with a cancelled context: %v", err)
	}
}

// ---- RunJobs ----

func TestRunJobs(t *testing.T) {
	t.Parallel()
	finished := make(chan studiotest.JobState, 10)
	s := studiotest.New(studiotest.Options{Logf: t.Logf})
	s.OnJobFinished(func(st studiotest.JobState) { finished <- st })
	if _, err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	s.AddWorker("w-1", "tok")
	c := welcomed(t, s, "w-1", "tok")

	kinds := []protocol.TaskKind{protocol.KindLLM, protocol.KindLLM, protocol.KindImage, protocol.KindLLM}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- s.RunJobs(ctx, func(seq int) protocol.JobOfferClaim {
			return studiotest.SyntheticClaim(fmt.Sprintf("job-%d", seq), kinds[(seq-1)%len(kinds)], "p")
		}, time.Millisecond)
	}()

	// Offers start with a heartbeat that says autoEnabled.
	c.heartbeat(true)
	o := expect[*protocol.Offer](c)
	if o.Claim.JobID != "job-1" {
		t.Fatalf("first offer %s", o.Claim.JobID)
	}
	c.send(&protocol.Accept{JobID: "job-1"})
	c.send(&protocol.CompleteJSON{JobID: "job-1", Result: json.RawMessage(`{}`)})
	expect[*protocol.CompleteAck](c)

	// The next job follows the ack; a busy reject puts it back for the
	// next heartbeat without consuming a sequence number.
	if o := expect[*protocol.Offer](c); o.Claim.JobID != "job-2" {
		t.Fatalf("second offer %s", o.Claim.JobID)
	}
	c.send(&protocol.Reject{JobID: "job-2", Reason: protocol.ReasonBusy, Code: protocol.RejectBusy})
	c.heartbeat(true)
	if o := expect[*protocol.Offer](c); o.Claim.JobID != "job-2" {
		t.Fatalf("re-offer %s, want job-2", o.Claim.JobID)
	}
	c.send(&protocol.Accept{JobID: "job-2"})
	c.send(&protocol.Fail{JobID: "job-2", Error: "engine broke", Retryable: true})
	expect[*protocol.FailAck](c)

	// An upload ends a job too.
	o = expect[*protocol.Offer](c)
	if o.Claim.JobID != "job-3" || o.Claim.Task.Kind != protocol.KindImage {
		t.Fatalf("third offer %+v", o.Claim)
	}
	c.send(&protocol.Accept{JobID: "job-3"})
	if _, err := s.WaitJob(testCtx(t), "job-3", studiotest.StatusAccepted); err != nil {
		t.Fatal(err)
	}
	if status := upload(t, s, imageUpload("w-1", "job-3", "tok")); status != http.StatusOK {
		t.Fatalf("upload: %d", status)
	}
	if o := expect[*protocol.Offer](c); o.Claim.JobID != "job-4" {
		t.Fatalf("fourth offer %s", o.Claim.JobID)
	}

	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("RunJobs returned %v, want context.Canceled", err)
	}
	var got []string
	for range 3 {
		st := <-finished
		got = append(got, st.JobID+":"+st.Status)
	}
	if want := "[job-1:completed job-2:failed job-3:completed]"; fmt.Sprint(got) != want {
		t.Fatalf("finished %v, want %s", got, want)
	}
}

func TestRunJobsWaitsForAutoEnabled(t *testing.T) {
	t.Parallel()
	s := startStudio(t, studiotest.Options{})
	s.AddWorker("w-1", "tok")
	c := welcomed(t, s, "w-1", "tok")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- s.RunJobs(ctx, func(seq int) protocol.JobOfferClaim {
			return studiotest.SyntheticClaim(fmt.Sprintf("job-%d", seq), protocol.KindLLM, "p")
		}, 0)
	}()
	c.heartbeat(false)
	c.heartbeat(false)
	c.heartbeat(true)
	if o := expect[*protocol.Offer](c); o.Claim.JobID != "job-1" {
		t.Fatalf("offer %s", o.Claim.JobID)
	}
	// The offer came after the third ack; none followed the paused ones.
	var sequence []string
	for _, r := range s.Frames() {
		if r.Dir == studiotest.ToWorker {
			sequence = append(sequence, r.Type)
		}
	}
	if want := "[welcome heartbeatAck heartbeatAck heartbeatAck offer]"; fmt.Sprint(sequence) != want {
		t.Fatalf("sent %v, want %s", sequence, want)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("RunJobs: %v", err)
	}
}

// ---- helpers and lifecycle ----

func TestSyntheticClaim(t *testing.T) {
	t.Parallel()
	for _, kind := range protocol.AllKinds {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			claim := studiotest.SyntheticClaim("j-"+string(kind), kind, "the prompt")
			b, err := protocol.Encode(&protocol.Offer{Claim: claim})
			if err != nil {
				t.Fatal(err)
			}
			f, err := protocol.DecodeServer(b)
			if err != nil {
				t.Fatalf("decode %s: %v", b, err)
			}
			got := f.(*protocol.Offer).Claim
			ms := got.ModelSource
			if got.Task.Kind != kind || got.Task.Prompt() != "the prompt" || ms.Engine != protocol.EngineSynthetic ||
				ms.CliDefaults.CfgScale != 1 || ms.CliDefaults.Steps != 8 || ms.CliDefaults.Width != 1024 || ms.CliDefaults.Height != 1024 ||
				got.Model != "synthetic-"+string(kind) {
				t.Fatalf("claim %s", b)
			}
			if !bytes.Contains(b, []byte(`"files":[]`)) {
				t.Fatalf("modelSource.files must be present: %s", b)
			}
			switch kind {
			case protocol.KindImage:
				if im := got.Task.Image; im.Width != 256 || im.Height != 256 || im.Ext != "png" {
					t.Fatalf("image task %+v", im)
				}
			case protocol.KindLLM:
				if m := got.Task.LLM.Messages; len(m) != 1 || m[0].Role != "user" {
					t.Fatalf("llm messages %+v", m)
				}
			}
		})
	}
}

func TestStartTwiceAndAfterClose(t *testing.T) {
	t.Parallel()
	s := studiotest.New(studiotest.Options{})
	if s.URL() != "" {
		t.Fatal("URL before Start")
	}
	u, err := s.Start("127.0.0.1:0")
	if err != nil || !strings.HasPrefix(u, "http://127.0.0.1:") || !strings.HasSuffix(u, "/") || s.URL() != u {
		t.Fatalf("Start = %q, %v", u, err)
	}
	if _, err := s.Start("127.0.0.1:0"); err == nil {
		t.Fatal("second Start succeeded")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := studiotest.New(studiotest.Options{}).Start("256.0.0.1:0"); err == nil {
		t.Fatal("Start on a bad address succeeded")
	}
	closed := studiotest.New(studiotest.Options{})
	_ = closed.Close()
	if _, err := closed.Start("127.0.0.1:0"); !errors.Is(err, studiotest.ErrClosed) {
		t.Fatalf("Start after Close: %v", err)
	}
}

// studioGoroutines lists goroutines doing studio work: serving, handling a
// request or reading a session. (A goroutine may still be leaving the
// wrapper that called wg.Done when Close returns; it does no work.)
func studioGoroutines() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		if !strings.Contains(g, "studiotest.(*Studio).") {
			continue
		}
		if strings.Contains(g, "(*Studio).readLoop") || strings.Contains(g, "(*Studio).handle") ||
			strings.Contains(g, "net/http.(*Server).Serve(") {
			out = append(out, g)
		}
	}
	return out
}

// TestCloseStopsEverything is not parallel: it counts goroutines.
func TestCloseStopsEverything(t *testing.T) {
	before := runtime.NumGoroutine()
	s := studiotest.New(studiotest.Options{})
	// The callback parks the session's handler once Close has begun.
	parked, release := make(chan struct{}), make(chan struct{})
	s.OnJobFinished(func(studiotest.JobState) {
		_, _ = s.WaitFrame(context.Background(), func(studiotest.Recorded) bool { return false })
		close(parked)
		<-release
	})
	if _, err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	s.AddWorker("w-1", "tok")
	s.AddWorker("w-2", "tok")
	ctx := testCtx(t)

	c := welcomed(t, s, "w-1", "tok")
	if err := s.Offer(studiotest.SyntheticClaim("j1", protocol.KindLLM, "p")); err != nil {
		t.Fatal(err)
	}
	expect[*protocol.Offer](c)
	c.send(&protocol.Accept{JobID: "j1"})
	c.send(&protocol.CompleteJSON{JobID: "j1", Result: json.RawMessage(`{}`)})
	expect[*protocol.CompleteAck](c)
	// A session that never says hello nor reads: its handler is blocked
	// reading when Close runs.
	idle := connect(t, s, "w-2", "tok")
	// An upload whose body never finishes: its handler is blocked reading.
	raw, err := net.Dial("tcp", strings.TrimSuffix(strings.TrimPrefix(s.URL(), "http://"), "/"))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	fmt.Fprintf(raw, "POST %s/workers/w-1/jobs/jx/complete HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tok\r\n"+
		"Content-Type: multipart/form-data; boundary=B\r\nContent-Length: 1000\r\n\r\n--B\r\n", protocol.APIPrefix)
	if err := s.WaitUploadAttempts(ctx, "jx", 1); err != nil {
		t.Fatal(err)
	}
	runDone := make(chan error, 1)
	go func() {
		runDone <- s.RunJobs(context.Background(), func(int) protocol.JobOfferClaim {
			return studiotest.SyntheticClaim("never", protocol.KindLLM, "p")
		}, time.Hour)
	}()
	waitDone := make(chan error, 1)
	go func() {
		_, err := s.WaitFrame(context.Background(), func(studiotest.Recorded) bool { return false })
		waitDone <- err
	}()

	closeDone := make(chan error, 1)
	go func() { closeDone <- s.Close() }()
	<-parked
	// While a handler is parked, Close cannot have returned. (The pause only
	// gives a Close that does not wait the chance to show it; a correct Close
	// passes whatever its length.)
	select {
	case err := <-closeDone:
		t.Fatalf("Close returned (%v) while a session handler was still running", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if err := <-closeDone; err != nil {
		t.Fatal(err)
	}
	// Close waited for every handler and the serve loop: no studio code runs.
	if g := studioGoroutines(); len(g) != 0 {
		t.Fatalf("studio goroutines after Close:\n%s", strings.Join(g, "\n\n"))
	}
	if err := <-runDone; !errors.Is(err, studiotest.ErrClosed) {
		t.Fatalf("RunJobs after Close: %v", err)
	}
	if err := <-waitDone; !errors.Is(err, studiotest.ErrClosed) {
		t.Fatalf("WaitFrame after Close: %v", err)
	}
	if s.Connected() {
		t.Fatal("connected after Close")
	}
	if _, err := c.read(); err == nil {
		t.Fatal("welcomed client still reads after Close")
	}
	if _, err := idle.read(); err == nil {
		t.Fatal("idle client still reads after Close")
	}
	_ = c.conn.Close()
	_ = idle.conn.Close()
	_ = raw.Close()
	http.DefaultClient.CloseIdleConnections()

	// net/http's per-connection goroutines exit just after the connections
	// close; allow them a bounded moment.
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(failsafe)
	for runtime.NumGoroutine() > before {
		select {
		case <-tick.C:
		case <-deadline:
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
	}
}
