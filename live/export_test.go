package live

// BroadcastForTest hands frame to burstID's connections the way a hub does,
// so tests can push volume without a database write per message.
func BroadcastForTest(r *Registry, burstID int64, frame []byte) {
	r.out.Broadcast(burstID, Everyone, frame)
}
