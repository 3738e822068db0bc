-- Old implementation, not yet deleted.
while true do
	wait(90)
	print("Round over")
end
