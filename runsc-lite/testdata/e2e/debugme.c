/* debugme: the program gdb debugs in TestRealSoftware: a breakpoint on
 * main, a variable printed before and after it changes. */
#include <stdio.h>

int counter = 41;

int main(void) {
	counter++;
	printf("counter %d\n", counter);
	return 0;
}
