print("vmplan")
