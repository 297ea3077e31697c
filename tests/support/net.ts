// Network helpers for tests: only 127.0.0.1.
import * as net from "net";

/** A port on 127.0.0.1 that nothing listens on: bound once by the OS, then released. */
export function refusedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}
