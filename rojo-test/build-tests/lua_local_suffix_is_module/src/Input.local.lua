local Input = {}

function Input.isTouch()
	return game:GetService("UserInputService").TouchEnabled
end

return Input
