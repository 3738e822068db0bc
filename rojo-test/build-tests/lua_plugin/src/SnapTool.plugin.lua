local toolbar = plugin:CreateToolbar("Level Tools")
local button = toolbar:CreateButton("Snap", "Snap selection to grid", "rbxassetid://4458901886")

button.Click:Connect(function()
	print("Snapping selection")
end)
