/**
 * Connection-level network figures from the HTTP server's sockets: open and accepted connections,
 * bytes received and sent (live sockets plus closed ones). Costs one listener per connection, nothing
 * per request.
 */
import type { Server, Socket } from 'node:net';

export class NetworkStats {
  private readonly live = new Set<Socket>();
  private accepted = 0;
  private closedReceived = 0;
  private closedSent = 0;

  attach(server: Server): void {
    server.on('connection', (socket: Socket) => {
      this.accepted++;
      this.live.add(socket);
      socket.once('close', () => {
        this.live.delete(socket);
        this.closedReceived += socket.bytesRead;
        this.closedSent += socket.bytesWritten;
      });
    });
  }

  stats() {
    let received = this.closedReceived;
    let sent = this.closedSent;
    for (const socket of this.live) {
      received += socket.bytesRead;
      sent += socket.bytesWritten;
    }
    return { openConnections: this.live.size, acceptedConnections: this.accepted, receivedBytes: received, sentBytes: sent };
  }
}

/** How the network collector's stats appear in Prometheus. */
export const NETWORK_SHAPE = { counters: ['acceptedConnections', 'receivedBytes', 'sentBytes'] };
