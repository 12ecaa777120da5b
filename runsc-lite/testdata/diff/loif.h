/* loif.h: lo's IFF_UP, for the differential programs that run in a
 * network namespace of their own. The includer brings struct ifreq and
 * IFF_UP (<net/if.h> or <linux/if.h>, which cannot both be included). */
#include <sys/ioctl.h>
#include <sys/socket.h>

/* set_lo brings lo up (up != 0) or down: SIOCSIFFLAGS's result, -1 with
 * errno set on failure. */
static int set_lo(int up) {
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct ifreq ifr = {0};
	strcpy(ifr.ifr_name, "lo");
	ioctl(s, SIOCGIFFLAGS, &ifr);
	if (up)
		ifr.ifr_flags |= IFF_UP;
	else
		ifr.ifr_flags &= ~IFF_UP;
	int r = ioctl(s, SIOCSIFFLAGS, &ifr);
	int e = errno;
	close(s);
	errno = e;
	return r;
}
