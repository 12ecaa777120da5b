# asyncio TCP streams and a UDP echo, on loopback ports the kernel picks.
import asyncio, socket

async def handle(reader, writer):
    while True:
        line = await reader.readline()
        if not line:
            break
        writer.write(line.upper())
        await writer.drain()
    writer.close()
    await writer.wait_closed()

async def streams():
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for word in ("alpha", "beta", "gamma" * 10000):
            writer.write(word.encode() + b"\n")
            await writer.drain()
            got = await reader.readline()
            print("echo", len(got), got[:12])
        writer.write_eof()
        print("eof", await reader.read())
        writer.close()
        await writer.wait_closed()

class Echo(asyncio.DatagramProtocol):
    def connection_made(self, transport):
        self.transport = transport
    def datagram_received(self, data, addr):
        self.transport.sendto(data[::-1], addr)

async def udp():
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(Echo, local_addr=("127.0.0.1", 0))
    port = transport.get_extra_info("sockname")[1]
    c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    c.setblocking(False)
    for msg in (b"ping", b"x" * 1400, b"!"):
        await loop.sock_sendto(c, msg, ("127.0.0.1", port))
        data, addr = await asyncio.wait_for(loop.sock_recvfrom(c, 2048), 10)
        print("udp", len(data), data[:8], addr[0], addr[1] == port)
    c.close()
    transport.close()

asyncio.run(streams())
asyncio.run(udp())
