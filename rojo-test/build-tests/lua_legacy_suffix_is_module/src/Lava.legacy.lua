return {
	damage = 100,
}
