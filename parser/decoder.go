package parser

// DefaultMaxAttachments is the attachment limit used when
// Decoder.MaxAttachments is zero, as in socket.io-parser.
const DefaultMaxAttachments = 10

// maxAckID is the largest ack id accepted: 2^53-1, the largest integer a
// JavaScript peer represents exactly.
const maxAckID = 1<<53 - 1

// Decoder decodes the Engine.IO messages of one connection into packets,
// reassembling binary packets from their text header and attachments.
//
// The zero value is ready to use. A Decoder is not safe for concurrent use;
// each connection owns one and feeds it from its reader.
type Decoder struct {
	// MaxAttachments limits the attachment count a binary packet may
	// announce. Zero means DefaultMaxAttachments.
	MaxAttachments int

	pending *Packet // binary packet waiting for attachments
	want    int     // attachments pending needs in total
}

// DecodeText decodes one Engine.IO text message (without its "4" prefix).
//
// It returns (nil, nil) when the packet announces attachments; the packet is
// then returned by the DecodeBinary call that supplies the last one. The
// returned packet does not reference msg. After an error the connection is
// expected to be closed; Reset makes the Decoder usable again.
func (d *Decoder) DecodeText(msg []byte) (*Packet, error) {
	if d.pending != nil {
		return nil, errTextDuringRecon
	}
	p, n, err := d.decodeHeader(msg)
	if err != nil {
		return nil, err
	}
	if n > 0 {
		p.Attachments = make([][]byte, 0, n)
		d.pending, d.want = p, n
		return nil, nil
	}
	return p, nil
}

// DecodeBinary decodes one Engine.IO binary message, the next attachment of
// the pending binary packet. It returns the packet once its last attachment
// arrives and (nil, nil) before that. The attachment is copied.
func (d *Decoder) DecodeBinary(msg []byte) (*Packet, error) {
	p := d.pending
	if p == nil {
		return nil, errBinaryWithoutRecon
	}
	p.Attachments = append(p.Attachments, append(make([]byte, 0, len(msg)), msg...))
	if len(p.Attachments) < d.want {
		return nil, nil
	}
	d.Reset()
	return p, nil
}

// Reset drops any partially received binary packet.
func (d *Decoder) Reset() {
	d.pending, d.want = nil, 0
}

// Pending reports whether the Decoder waits for attachments.
func (d *Decoder) Pending() bool { return d.pending != nil }

func (d *Decoder) maxAttachments() int {
	if d.MaxAttachments > 0 {
		return d.MaxAttachments
	}
	return DefaultMaxAttachments
}

// decodeHeader parses msg and validates its payload. It returns the packet
// and the number of attachments it announces.
func (d *Decoder) decodeHeader(msg []byte) (*Packet, int, error) {
	if len(msg) == 0 || msg[0] < '0' || msg[0] > '6' {
		return nil, 0, errUnknownType
	}
	t := Type(msg[0] - '0')
	i, n := 1, 0
	if t.isBinary() {
		var err error
		if n, i, err = d.parseAttachmentCount(msg, i); err != nil {
			return nil, 0, err
		}
	}
	nsp := "/"
	if i < len(msg) && msg[i] == '/' {
		j := i
		for j < len(msg) && msg[j] != ',' {
			j++
		}
		nsp = string(msg[i:j])
		i = j
		if i < len(msg) {
			i++ // the comma
		}
	}
	var id uint64
	hasID := i < len(msg) && isDigit(msg[i])
	if hasID {
		var err error
		if id, i, err = parseAckID(msg, i); err != nil {
			return nil, 0, err
		}
	}
	if err := checkPayload(t, msg[i:], n); err != nil {
		return nil, 0, err
	}
	p := &Packet{Type: t, Namespace: nsp, ID: id, HasID: hasID}
	if i < len(msg) {
		p.Data = append(make([]byte, 0, len(msg)-i), msg[i:]...)
	}
	return p, n, nil
}

// parseAttachmentCount parses the "<n>-" that follows a binary type.
func (d *Decoder) parseAttachmentCount(msg []byte, i int) (n, next int, err error) {
	start := i
	for i < len(msg) && isDigit(msg[i]) {
		if n = n*10 + int(msg[i]-'0'); n > d.maxAttachments() {
			// Keep scanning: a malformed count is reported first.
			n = d.maxAttachments() + 1
		}
		i++
	}
	if i == start || i >= len(msg) || msg[i] != '-' {
		return 0, 0, errIllegalAttCount
	}
	if n > d.maxAttachments() {
		return 0, 0, errTooManyAtts
	}
	return n, i + 1, nil
}

// parseAckID parses the ack id digits starting at i.
func parseAckID(msg []byte, i int) (id uint64, next int, err error) {
	for i < len(msg) && isDigit(msg[i]) {
		id = id*10 + uint64(msg[i]-'0')
		if id > maxAckID {
			return 0, 0, errInvalidAckID
		}
		i++
	}
	return id, i, nil
}

// checkPayload validates the JSON payload of a packet of type t carrying n
// attachments.
func checkPayload(t Type, data []byte, n int) error {
	switch t {
	case Disconnect:
		if len(data) != 0 {
			return errInvalidPayload
		}
		return nil
	case Connect, ConnectError:
		if len(data) == 0 {
			return nil
		}
	}
	if len(data) == 0 {
		return errInvalidPayload // events and acks need their array
	}
	s := scanner{data: data, checkPH: t != Connect && t != ConnectError, nAtt: n}
	if err := s.whole(); err != nil {
		return err
	}
	first := data[skipSpace(data, 0)]
	switch t {
	case Connect:
		if first != '{' {
			return errInvalidPayload
		}
	case ConnectError:
		if first != '{' && first != '"' {
			return errInvalidPayload
		}
	case Ack, BinaryAck:
		if first != '[' {
			return errInvalidPayload
		}
	default:
		return checkEventName(data)
	}
	return nil
}

// checkEventName checks that the valid JSON data is an array whose first
// element is a number or a string that is not a reserved event name.
func checkEventName(data []byte) error {
	i := skipSpace(data, 0)
	if data[i] != '[' {
		return errInvalidPayload
	}
	i = skipSpace(data, i+1)
	switch c := data[i]; {
	case c == '-' || isDigit(c):
		return nil
	case c != '"':
		return errInvalidPayload
	}
	end, esc, _ := scanString(data, i)
	lit := data[i:end]
	if !esc {
		// Compare without converting: no allocation on the hot path.
		if isReserved(lit[1 : len(lit)-1]) {
			return reservedEventError(string(lit[1 : len(lit)-1]))
		}
		return nil
	}
	name, ok := unquote(lit)
	if !ok {
		return errInvalidPayload
	}
	if IsReservedEvent(name) {
		return reservedEventError(name)
	}
	return nil
}
